//! The accept loop. It serves each connection with hyper-util so that a request marked
//! [`DropConnection`] closes its TCP connection without any HTTP response, which `axum::serve`
//! cannot do.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Response extension set by the fault middleware: the server must drop the connection
/// instead of writing the response.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DropConnection;

/// Returned to hyper to make it abandon the connection.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct ConnectionDropped;

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

/// Accepts and serves connections until the future is dropped. The connection tasks live in
/// a `JoinSet` owned by this future, so dropping it closes every open connection too.
pub(crate) async fn serve(router: Router, listener: TcpListener) -> std::io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(router.clone(), stream));
                }
                Err(error) => {
                    tracing::warn!(%error, "scaleway emulator: accept failed");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                }
            },
            Some(_finished) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(router: Router, stream: TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "scaleway emulator: cannot set TCP_NODELAY");
    }
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let router = router.clone();
        async move {
            let response = match router.oneshot(request.map(Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                Err(ConnectionDropped)
            } else {
                Ok(response)
            }
        }
    });
    let result = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = result {
        tracing::debug!(%error, "scaleway emulator: connection closed");
    }
}
