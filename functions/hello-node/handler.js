'use strict';

// Greets the caller: a text body is the name; a JSON or form body may carry
// {"name": ...}; otherwise "world".
function nameFrom(body) {
  if (typeof body === 'string') return body.trim();
  if (Buffer.isBuffer(body)) return body.toString('utf8').trim();
  if (body && typeof body === 'object' && typeof body.name === 'string') return body.name.trim();
  return '';
}

module.exports = async (event, context) => {
  const name = nameFrom(event.body) || 'world';
  return context
    .status(200)
    .headers({ 'Content-Type': 'text/plain; charset=utf-8' })
    .succeed(`Hello, ${name}! (from hello-node)\n`);
};
