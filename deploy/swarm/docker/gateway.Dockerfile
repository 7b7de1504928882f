# faas-ts gateway (`faas-ts gateway`, the CLI bundled by build-images.sh into app.mjs)
# in front of a faas-provider (functions_provider_url). Local base image: no shell,
# no registry. undici ships beside the bundle: provider/proxy.ts loads one of its
# internal files through createRequire at run time.
ARG BASE_IMAGE=faas-ts/node-base:20
FROM ${BASE_IMAGE}
WORKDIR /app
COPY node_modules/ /app/node_modules/
COPY app.mjs package.json /app/
COPY templates/ /app/templates/
USER 1000:1000
ENV port=8080 bind_address=0.0.0.0 metrics_port=8082
EXPOSE 8080 8082
HEALTHCHECK --interval=5s --timeout=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/app.mjs"]
CMD ["gateway"]
