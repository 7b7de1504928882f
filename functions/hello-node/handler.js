'use strict';

// Greets the caller and repeats the request body.
module.exports = async (event, context) => {
  const body = typeof event.body === 'string' ? event.body : JSON.stringify(event.body);
  const name = body && body !== '{}' ? body.trim() : 'world';
  return context
    .status(200)
    .headers({ 'Content-Type': 'text/plain; charset=utf-8' })
    .succeed(`Hello, ${name}! (from hello-node)\n`);
};
