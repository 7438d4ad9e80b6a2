# syntax=docker/dockerfile:1
# frugal operator image: built with glibc (aws-lc-sys makes a musl build need musl-gcc and
# cmake), run on distroless cc (glibc, libgcc, CA certificates; no shell), as non-root.

FROM rust:1.95-bookworm AS builder
WORKDIR /src

# Dependencies first, in their own layer: rebuilt only when Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs benches/plan_snapshots.rs benches/snapshots_e2e.rs \
    && cargo build --release --locked --bin frugal \
    && rm -rf src

# The real sources. touch: make cargo rebuild the crate over the stub's fresher artefacts.
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin frugal \
    && cp target/release/frugal /frugal

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="frugal-operator" \
      org.opencontainers.image.description="Kubernetes operator that keeps AWS accounts aligned with cost and security best practices" \
      org.opencontainers.image.source="https://github.com/frugal-dev/frugal-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /frugal /frugal
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/frugal"]
CMD ["run"]
