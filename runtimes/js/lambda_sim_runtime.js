// lambda-sim's JavaScript runtime: Lambda's Node.js handler interface on the handler world (wit/handler.wit, ABI v3).
//
// componentize-js makes this module the component and pre-initializes it at build time: the engine and this runtime
// are part of the component, as a Lambda runtime is part of its execution environment. The function's own modules
// are bundled by esbuild into `SOURCES` and evaluated here, in `init`: their module-scope code is the function's Init
// phase on every cold start, measured like any guest code; a snapshot (`snapshot = true`) restores the state after it
// instead. Errors follow the Lambda Node.js runtime: the error's name as errorType, its message, its stack, and
// Runtime.* errors for a handler that cannot be loaded.

import {
  requestId,
  functionName,
  functionVersion,
  handler as handlerSetting,
  memoryLimitMb,
  remainingTimeMs,
} from 'lambda-sim:handler/context@3.0.0';
import { SOURCES, DEFAULT_HANDLER } from './lambda_sim_sources.js';

let handlerFn = null;

function runtimeError(errorType, errorMessage, stackTrace = []) {
  return { errorType, errorMessage, stackTrace };
}

// The error's stack without this runtime's frames (and componentize-js's glue).
function stackLines(e) {
  return String((e && e.stack) || '')
    .split('\n')
    .filter((line) => line.length > 0)
    .filter((line) => !line.includes('lambda_sim_runtime.js') && !line.includes('initializer.js'));
}

function fromException(e) {
  if (e instanceof Error) {
    return runtimeError(e.name, e.message, stackLines(e));
  }
  return runtimeError('Error', String(e));
}

// Node built-ins are not there: `require` of anything the bundle left outside fails as a missing module.
function requireMissing(name) {
  const error = new Error(`Cannot find module '${name}'`);
  error.code = 'MODULE_NOT_FOUND';
  throw error;
}

function loadHandler(spec) {
  const dot = spec.lastIndexOf('.');
  if (dot <= 0 || dot === spec.length - 1) {
    throw runtimeError('Runtime.MalformedHandlerName', `Bad handler ${spec}`);
  }
  const moduleName = spec.slice(0, dot);
  const functionName = spec.slice(dot + 1);
  const found = SOURCES[moduleName];
  if (found === undefined) {
    throw runtimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  }
  if (found.error) {
    throw runtimeError(found.error.type, found.error.message, found.error.trace);
  }
  const module = { exports: {} };
  try {
    const body = `${found.source}\n//# sourceURL=${found.file}`;
    new Function('module', 'exports', 'require', body)(module, module.exports, requireMissing);
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND') {
      throw runtimeError('Runtime.ImportModuleError', `Error: ${e.message}`);
    }
    throw fromException(e);
  }
  const fn = module.exports[functionName];
  if (typeof fn !== 'function') {
    throw runtimeError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  }
  return fn;
}

export function init() {
  if (handlerFn !== null) {
    return;
  }
  try {
    handlerFn = loadHandler(handlerSetting() || DEFAULT_HANDLER);
  } catch (e) {
    const error = e && e.errorType ? e : fromException(e);
    // The runtime logs an init error before reporting it, as Lambda's does.
    console.error(`[ERROR] ${error.errorType}: ${error.errorMessage}`);
    throw error;
  }
}

function context(id) {
  const name = functionName();
  return {
    awsRequestId: id,
    functionName: name,
    functionVersion: functionVersion(),
    // A string, as on Lambda.
    memoryLimitInMB: String(memoryLimitMb()),
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: '',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Number(remainingTimeMs()),
  };
}

// An async handler, or a sync one returning a promise or a value, or a callback-style `(event, context, callback)`.
function run(fn, event, ctx) {
  if (fn.length >= 3) {
    return new Promise((resolve, reject) => {
      const returned = fn(event, ctx, (err, result) => (err ? reject(err) : resolve(result)));
      if (returned && typeof returned.then === 'function') {
        returned.then(resolve, reject);
      }
    });
  }
  return fn(event, ctx);
}

export async function handle(event) {
  if (handlerFn === null) {
    init();
  }
  const id = requestId();
  let payload;
  try {
    const text = new TextDecoder().decode(event);
    payload = text.length > 0 ? JSON.parse(text) : {};
  } catch (e) {
    throw runtimeError('Runtime.UnmarshalError', `Unable to unmarshal input: ${e.message}`);
  }
  let result;
  try {
    result = await run(handlerFn, payload, context(id));
  } catch (e) {
    const error = fromException(e);
    console.error(`[ERROR] ${error.errorType}: ${error.errorMessage}`);
    throw error;
  }
  const json = JSON.stringify(result === undefined ? null : result);
  return new TextEncoder().encode(json === undefined ? 'null' : json);
}
