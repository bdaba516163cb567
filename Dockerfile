# kelas: a static binary in an empty image, running as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/kelas . \
 && mkdir -p /out/data && chown 65532:65532 /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/kelas /kelas
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV KELAS_DATA=/data KELAS_ADDR=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["/kelas", "healthcheck"]
ENTRYPOINT ["/kelas"]
CMD ["serve"]
