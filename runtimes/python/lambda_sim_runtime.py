"""lambda-sim's Python runtime: Lambda's handler interface on the handler world (wit/handler.wit, ABI v3).

componentize-py makes this module the component's app and pre-initializes it at build time: the interpreter and
the modules imported then are part of the component, as a Lambda runtime is part of its execution environment.
A component has no file system at run time, so the function's own code (its folder, and the packages installed
from its requirements.txt) is read at build time into `_SOURCES` and imported from there by `_TaskFinder`, in
`init`: its module-scope code is the function's Init phase on every cold start, measured like any guest code; a
snapshot (`snapshot = true`) restores the state after it instead. The standard-library modules the code imports
(found by reading its import statements) are imported at build time, with the interpreter.
Errors follow the Lambda Python runtime (awslambdaric): the exception's class as errorType, its text as
errorMessage, the user's frames as stackTrace, and Runtime.* errors for a handler that cannot be loaded.
"""

import ast
import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import traceback

import wit_world
from componentize_py_types import Err
from wit_world.imports import context as _context
from wit_world.imports import types as _types

import lambda_sim_config

_handler = None


def _read_sources():
    """The function's modules: {name: (file name shown in tracebacks, source, is_package)}."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "lambda_sim_sources.json"), encoding="utf-8") as f:
        return {name: (m["file"], m["source"], m["package"]) for name, m in json.load(f).items()}


_SOURCES = _read_sources()


class _TaskFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the function's own modules from `_SOURCES`, as if from /var/task."""

    def find_spec(self, name, path=None, target=None):
        found = _SOURCES.get(name)
        if found is None:
            return None
        file, _, package = found
        spec = importlib.util.spec_from_loader(name, self, origin=file, is_package=package)
        spec.has_location = True
        if package:
            spec.submodule_search_locations = [os.path.dirname(file)]
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        file, source, _ = _SOURCES[module.__name__]
        module.__file__ = file
        exec(compile(source, file, "exec"), module.__dict__)


def _stdlib_imports():
    """The top-level modules the function's code imports that are not its own: imported now, at build time."""
    names = set()
    for name, (file, source, _) in _SOURCES.items():
        try:
            tree = ast.parse(source, file)
        except SyntaxError:
            continue  # reported when init imports it, as on Lambda (and by lambda-sim's build, as a warning)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    own = {name.split(".")[0] for name in _SOURCES}
    return sorted(n for n in names if n.split(".")[0] not in own)


def _preload_standard_library():
    stdlib = set(sys.stdlib_module_names)
    for name in _stdlib_imports():
        if name.split(".")[0] not in stdlib:
            continue  # not the standard library: missing at run time, as on Lambda without the package
        try:
            importlib.import_module(name)
        except Exception:
            pass  # unavailable in WebAssembly (e.g. ssl): the function's init reports it


_preload_standard_library()
sys.meta_path.insert(0, _TaskFinder())


class LambdaContext:
    """Lambda's context object (the attributes and method the Python runtime gives a handler)."""

    def __init__(self, request_id):
        self.aws_request_id = request_id
        self.function_name = _context.function_name()
        self.function_version = _context.function_version()
        # A string, as on Lambda.
        self.memory_limit_in_mb = str(_context.memory_limit_mb())
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + self.function_name
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self):
        return _context.remaining_time_ms()

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id={},function_name={},function_version={},memory_limit_in_mb={}])"
        ).format(self.aws_request_id, self.function_name, self.function_version, self.memory_limit_in_mb)


def _error(error_type, message, stack_trace=None):
    return Err(_types.FunctionError(error_type, message, stack_trace or []))


def _user_frames(tb):
    """The traceback without this runtime's own frames, formatted as the Lambda runtime does."""
    frames = traceback.extract_tb(tb)
    frames = [f for f in frames if not f.filename.endswith("lambda_sim_runtime.py")]
    return traceback.format_list(frames)


def _exception_error(e):
    return _error(type(e).__name__, str(e), _user_frames(e.__traceback__))


def _load_handler(spec):
    """Imports the handler's module and finds the function, raising Lambda's Runtime.* errors as the runtime does."""
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as e:
        raise _error("Runtime.MalformedHandlerName", "Bad handler '{}': {}".format(spec, e))
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _error(
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module {} as a handler module".format(module_name),
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        # As the Lambda runtime reports it: the message, no trace.
        raise _error("Runtime.ImportModuleError", "Unable to import module '{}': {}".format(module_name, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _error(
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module '{}': {}".format(module_name, e),
            trace,
        )
    except Exception as e:
        raise _exception_error(e)
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _error(
            "Runtime.HandlerNotFound",
            "Handler '{}' missing on module '{}'".format(function_name, module_name),
        )
    return handler


class WitWorld(wit_world.WitWorld):
    def init(self) -> None:
        global _handler
        if _handler is not None:
            return
        try:
            _handler = _load_handler(_context.handler() or lambda_sim_config.DEFAULT_HANDLER)
        except Err as e:
            # The runtime logs an init error before reporting it, as Lambda's does.
            error = e.value
            print("[ERROR] {}: {}".format(error.error_type, error.error_message), file=sys.stderr)
            for line in error.stack_trace:
                print(line, end="", file=sys.stderr)
            raise

    def handle(self, event: bytes) -> bytes:
        if _handler is None:
            # Init failed (or never ran): every invocation reports its error, as Lambda does.
            self.init()
        request_id = _context.request_id()
        try:
            payload = json.loads(event) if event else None
        except ValueError as e:
            raise _error("Runtime.UnmarshalError", "Unable to unmarshal input: {}".format(e))
        try:
            result = _handler(payload, LambdaContext(request_id))
        except Exception as e:
            error = _exception_error(e)
            # The runtime prints the error to the log too.
            print("[ERROR] {}: {}".format(type(e).__name__, e), file=sys.stderr)
            raise error
        try:
            return json.dumps(result).encode()
        except (TypeError, ValueError) as e:
            raise _error("Runtime.MarshalError", "Unable to marshal response: {}".format(e))
