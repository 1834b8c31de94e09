// The smallest JavaScript handler: Lambda's own shape, run by lambda-sim as a WebAssembly component.

export const handler = async (event, context) => {
  const name = (event && event.name) || 'world';
  console.log(`hello, ${name} (request ${context.awsRequestId}, ${context.memoryLimitInMB} MB)`);
  return {
    statusCode: 200,
    body: JSON.stringify({ message: `hello, ${name}`, remaining_ms: context.getRemainingTimeInMillis() }),
  };
};
