# pgarchive in a container: the Native AOT executable alone on Debian 12 slim, run as a non-root user whose uid
# and gid (999) match the postgres user of the official PostgreSQL images, so WAL files and data directories
# mounted from such a container are readable. libssl3 and ca-certificates serve HTTPS to object storage.
#   scripts/release.sh
#   docker build -t pgarchive --build-arg BINARY=artifacts/pgarchive-0.1.0-linux-x64 .
#   docker run --rm --env-file walg.env pgarchive backup-list
FROM debian:12-slim
ARG BINARY=artifacts/pgarchive-0.1.0-linux-x64
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --create-home postgres
COPY --chmod=0755 ${BINARY} /usr/bin/pgarchive
USER 999:999
WORKDIR /var/lib/postgresql
ENTRYPOINT ["/usr/bin/pgarchive"]
CMD ["--help"]
