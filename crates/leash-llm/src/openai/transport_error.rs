//! Transport failures (ureq errors, I/O errors while streaming) as
//! [`BackendError`]s, sorted so that the fallback chain can tell "the server
//! is not there" and "the server is too slow" from "the server said no".

use std::io;

use crate::backend::BackendError;

fn connection(backend: &str, detail: String) -> BackendError {
    BackendError::Connection {
        backend: backend.to_string(),
        detail,
    }
}

fn timeout(backend: &str, detail: String) -> BackendError {
    BackendError::Timeout {
        backend: backend.to_string(),
        detail,
    }
}

fn from_io(backend: &str, error: &io::Error, phase: &str) -> BackendError {
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            timeout(backend, format!("{phase}: {error}"))
        }
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::NotConnected
        | io::ErrorKind::AddrNotAvailable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => connection(backend, format!("{phase}: {error}")),
        _other => BackendError::Protocol {
            backend: backend.to_string(),
            detail: format!("{phase}: {error}"),
        },
    }
}

/// An error from sending the request or receiving the response head.
pub(crate) fn request_error(backend: &str, error: ureq::Error) -> BackendError {
    match error {
        ureq::Error::Timeout(which) => timeout(backend, format!("{which:?} timeout")),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
            connection(backend, error.to_string())
        }
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            connection(backend, format!("TLS: {error}"))
        }
        ureq::Error::Io(io_error) => from_io(backend, &io_error, "request"),
        ureq::Error::BadUri(uri) => BackendError::Load {
            backend: backend.to_string(),
            detail: format!("bad base URL: {uri}"),
        },
        other => BackendError::Protocol {
            backend: backend.to_string(),
            detail: other.to_string(),
        },
    }
}

/// An error while reading the response body. ureq wraps its own errors
/// (timeouts included) in `io::Error`; unwrap them first.
pub(crate) fn read_error(backend: &str, error: &io::Error) -> BackendError {
    if let Some(inner) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<ureq::Error>())
    {
        return match inner {
            ureq::Error::Timeout(which) => timeout(
                backend,
                format!("{which:?} timeout while reading the answer"),
            ),
            other => connection(backend, format!("while reading the answer: {other}")),
        };
    }
    from_io(backend, error, "while reading the answer")
}
