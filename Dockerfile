# syntax=docker/dockerfile:1
# frugal operator image: one static binary (Rust's musl target; rustls, no OpenSSL; mimalloc
# as its allocator and, on x86_64, its own memcpy from crates/, since musl's each cost a
# fifth more CPU: docs/BENCHMARKS.md) on
# distroless static (CA certificates and the nonroot user; no libc, no shell), run as
# non-root. Multi-arch: the builder compiles for the architecture it runs on, so
# `docker buildx build --platform linux/amd64,linux/arm64 .` gives both (arm64 for Graviton).

FROM rust:1.95-bookworm AS builder
# musl-gcc compiles aws-lc-sys, the C part of rustls' crypto provider, for the musl target.
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add "$(uname -m)-unknown-linux-musl"
ENV CC_x86_64_unknown_linux_musl=musl-gcc \
    CC_aarch64_unknown_linux_musl=musl-gcc
WORKDIR /src

# Dependencies first, in their own layer: rebuilt only when Cargo.toml or Cargo.lock change.
# crates/: the workspace's small crates (the static build's memcpy), part of the dependencies.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs benches/plan_snapshots.rs benches/snapshots_e2e.rs \
    && cargo build --release --locked --features mimalloc --bin frugal --target "$(uname -m)-unknown-linux-musl" \
    && rm -rf src

# The real sources. touch: make cargo rebuild the crate over the stub's fresher artefacts.
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --features mimalloc --bin frugal --target "$(uname -m)-unknown-linux-musl" \
    && cp "target/$(uname -m)-unknown-linux-musl/release/frugal" /frugal

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="frugal-operator" \
      org.opencontainers.image.description="Kubernetes operator that keeps AWS accounts aligned with cost and security best practices" \
      org.opencontainers.image.source="https://github.com/frugal-dev/frugal-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /frugal /frugal
# mimalloc commits memory lazily, as glibc's allocator does: with its eager default a run's
# page faults cost more CPU than musl's allocator saved; freed memory goes back to the kernel
# after mimalloc's default 10 ms, not at once (docs/BENCHMARKS.md).
ENV MIMALLOC_ARENA_EAGER_COMMIT=0
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/frugal"]
CMD ["run"]
