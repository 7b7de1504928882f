# alertmanager: the Go binary (from this machine or Debian's package, see build-images.sh)
# on the local base image, which carries the glibc Debian's build links against.
ARG BASE_IMAGE=faas-ts/node-base:20
FROM ${BASE_IMAGE}
COPY bin/ /usr/bin/
COPY etc/ /etc/alertmanager/
COPY share/ /usr/share/
WORKDIR /data
EXPOSE 9093
ENTRYPOINT ["/usr/bin/prometheus-alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/data"]
