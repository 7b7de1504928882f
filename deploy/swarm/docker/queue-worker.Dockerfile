# faas-ts queue worker (queue-worker/main.ts bundled into app.mjs): JetStream
# consumer that invokes functions through the gateway.
ARG BASE_IMAGE=faas-ts/node-base:20
FROM ${BASE_IMAGE}
WORKDIR /app
COPY node_modules/ /app/node_modules/
COPY app.mjs package.json /app/
COPY templates/ /app/templates/
USER 1000:1000
ENTRYPOINT ["node", "/app/app.mjs"]
