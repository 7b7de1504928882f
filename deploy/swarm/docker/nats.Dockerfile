# nats: the Go binary (from this machine or Debian's package, see build-images.sh)
# on the local base image, which carries the glibc Debian's build links against.
ARG BASE_IMAGE=faas-ts/node-base:20
FROM ${BASE_IMAGE}
COPY bin/ /usr/bin/
COPY etc/ /etc/nats/
COPY share/ /usr/share/
WORKDIR /data
EXPOSE 4222 8222
ENTRYPOINT ["/usr/bin/nats-server"]
CMD ["-js", "-sd", "/data", "-p", "4222", "-m", "8222"]
