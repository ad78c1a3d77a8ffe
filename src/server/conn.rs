//! Connections with a deadline on every request, not only the first.
//!
//! actix-http arms its request-head timer once per connection: on a keep-alive connection the
//! second and later heads may trickle in for ever, a byte at a time (a slowloris that first asks
//! one honest question). A [`Watched`] connection starts a clock at the first byte the client
//! sends after the server last wrote, and ends the connection if the server has not written
//! anything by the time a request could take at most (head, body and handler timeouts
//! together). A waiting client (an open event stream, an idle keep-alive) sends nothing and is
//! not timed; a response, or an event-stream comment, stops the clock.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    time::Sleep,
};

/// A client connection whose unanswered requests are timed.
pub struct Watched {
    io: TcpStream,
    limit: Duration,
    /// Running from the first byte received since the server last wrote.
    clock: Option<Pin<Box<Sleep>>>,
}

impl Watched {
    pub fn new(io: TcpStream, limit: Duration) -> Self {
        Self {
            io,
            limit,
            clock: None,
        }
    }

    fn answered(&mut self, written: usize) {
        if written > 0 {
            self.clock = None;
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before && this.clock.is_none() {
                    this.clock = Some(Box::pin(tokio::time::sleep(this.limit)));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let late = this
                    .clock
                    .as_mut()
                    .is_some_and(|clock| clock.as_mut().poll(cx).is_ready());
                if late {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "a request was not complete in time",
                    )))
                } else {
                    Poll::Pending
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            self.answered(n);
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = written {
            self.answered(n);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
