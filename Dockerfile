# mass-ingest container image (DESIGN §11). The entry point is the CLI:
#   docker build -t mass-ingest .
#   docker run --rm -v "$PWD:/data" mass-ingest process /data/repos.csv --start 1 --end 5
# Build toolchains are off by default; turn them on with build arguments, e.g.
#   docker build --build-arg INSTALL_JDK=true --build-arg INSTALL_MAVEN=true -t mass-ingest .
# Behind a TLS-intercepting proxy, hand npm its CA bundle as a build secret (never a file of the image):
#   docker build --secret id=npm_ca,src=/path/to/ca-bundle.pem -t mass-ingest .
# Kept within what buildah 1.28 accepts: no heredocs, no COPY --link.

ARG BASE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
# build: npm ci, tsc, the PGlite template, then production dependencies only
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build
WORKDIR /build

COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here, and no production
# dependency has an install script. Without the secret, Node warns that the file is missing and
# uses its own CA roots. npm 10 can exit 0 after a failed fetch ("Exit handler never called"):
# the tsc check keeps such a layer from being cached as if it were whole.
RUN --mount=type=secret,id=npm_ca NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca npm ci --ignore-scripts --no-audit --no-fund \
 && test -x node_modules/.bin/tsc

COPY tsconfig*.json chunk.ts ./
COPY scripts/pglite-template.js scripts/bundle.js scripts/
# The embedded-database template is built with the migrations applied.
COPY migrations migrations
COPY src src
# `npm run build` = tsc (dist/cli.js, dist/chunk.js), esbuild (dist/cli.js and the embedded-database
# host bundled, for a faster start) + dist/pglite-template (an initialised PGlite
# directory that a fresh local run copies instead of running initdb). Source maps and type
# declarations inside node_modules are dead weight at run time (about 50 MB); ours in dist/ stay.
# The template has a 0600 file and 0666 ones: the runtime user must read it, and nobody write it.
RUN npm run build \
 && chmod -R u=rwX,go=rX dist \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules -type f \( -name '*.js.map' -o -name '*.mjs.map' -o -name '*.cjs.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.d.ts.map' \) -delete \
 && rm -rf /root/.npm

# ---------------------------------------------------------------------------------------------
# runtime: git, ssh, tini, make and the chosen toolchains; the app owned by root, run as `node`
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime

# Debian bookworm's packages: JDK 17, Maven 3.8, Gradle 4.4 (projects with ./gradlew need only
# the JDK), Rust 1.63, Go 1.19, Python 3.11 with pip 23; git-lfs 3.3 for LFS=fetch. JDK_PACKAGE picks another JDK (e.g. openjdk-17-jdk). Go gets the C
# toolchain its package only recommends (cgo: net, os/user, sqlite drivers…); rustc depends on it.
ARG INSTALL_JDK=false
ARG INSTALL_MAVEN=false
ARG INSTALL_GRADLE=false
ARG INSTALL_RUST=false
ARG INSTALL_GO=false
ARG INSTALL_PYTHON=false
ARG INSTALL_GIT_LFS=false
ARG JDK_PACKAGE=openjdk-17-jdk-headless

RUN set -eu; \
    packages="git openssh-client ca-certificates tini make"; \
    if [ "$INSTALL_JDK" = true ] || [ "$INSTALL_MAVEN" = true ] || [ "$INSTALL_GRADLE" = true ]; then packages="$packages $JDK_PACKAGE"; fi; \
    if [ "$INSTALL_MAVEN" = true ]; then packages="$packages maven"; fi; \
    if [ "$INSTALL_GRADLE" = true ]; then packages="$packages gradle"; fi; \
    if [ "$INSTALL_RUST" = true ]; then packages="$packages cargo rustc"; fi; \
    if [ "$INSTALL_GO" = true ]; then packages="$packages golang-go gcc g++ libc6-dev pkg-config"; fi; \
    if [ "$INSTALL_PYTHON" = true ]; then packages="$packages python3 python3-pip python3-venv"; fi; \
    if [ "$INSTALL_GIT_LFS" = true ]; then packages="$packages git-lfs"; fi; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log; \
    mkdir -p /data; \
    chown node:node /data

WORKDIR /app
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules node_modules
COPY --from=build /build/dist dist
COPY --from=build /build/migrations migrations
COPY repos.csv ./

# tini forwards SIGTERM to the CLI (which records aborted rows and exits 143) and reaps build
# processes; TINI_SUBREAPER keeps that working under another init (AWS Batch initProcessEnabled).
ENV TINI_SUBREAPER=1
USER node
WORKDIR /data
ENTRYPOINT ["tini", "--", "node", "/app/dist/cli.js"]
CMD ["--help"]
