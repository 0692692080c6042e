# syntax=docker/dockerfile:1
# The operator's image: a release build in the pinned Rust image, then the single binary in a
# distroless image that carries glibc, libgcc and the CA roots (the operator calls Scaleway over
# TLS and verifies with the system roots) and runs as the non-root user 65532.
#   docker build -t scaleway-serverless-operator:0.1.0 .
# Unbuilt here (no Docker engine on the project's machines); tests/chart.rs lints it with hadolint.

# The exact toolchain: link/symbol-order.txt names functions by symbols whose hash includes
# the rustc version (build.rs, README Performance).
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the crates and the build between builds; the binary is copied out of them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin scaleway-serverless-operator \
    && install -D -m 755 target/release/scaleway-serverless-operator /out/scaleway-serverless-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/scaleway-serverless-operator /usr/local/bin/scaleway-serverless-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/scaleway-serverless-operator"]
CMD ["run"]
