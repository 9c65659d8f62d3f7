//! Request bodies on their way upstream: the first [`REPLAY_BODY_LIMIT`](crate::REPLAY_BODY_LIMIT)
//! bytes are read before the request is sent, so that a body that ends within them can be sent
//! again after a 401; a longer body continues as a stream behind what was read, in bounded
//! memory, and is never replayed.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// A client's request body after its first bytes were read.
pub(crate) enum RequestBody {
    /// The whole body, small enough to be kept for one replay.
    Complete(Bytes),
    /// The bytes read so far, then the rest of the client's stream.
    Streaming(PrefixedBody),
}

impl RequestBody {
    /// Reads `incoming` until it ends or more than `limit` bytes were read.
    pub(crate) async fn read(mut incoming: Incoming, limit: usize) -> Result<Self, hyper::Error> {
        let hint = incoming.size_hint();
        if hint.lower() as usize > limit {
            return Ok(RequestBody::Streaming(PrefixedBody::new(
                VecDeque::new(),
                0,
                incoming,
            )));
        }
        let mut kept = BytesMut::new();
        let mut chunks = VecDeque::new();
        let mut read = 0usize;
        while let Some(frame) = incoming.frame().await {
            // Trailers of a request are not forwarded (hop-by-hop in practice; no OpenAI API
            // takes them).
            let Ok(data) = frame?.into_data() else {
                continue;
            };
            read += data.len();
            chunks.push_back(data);
            if read > limit {
                return Ok(RequestBody::Streaming(PrefixedBody::new(
                    chunks, read, incoming,
                )));
            }
        }
        for chunk in chunks {
            kept.extend_from_slice(&chunk);
        }
        Ok(RequestBody::Complete(kept.freeze()))
    }
}

/// Chunks already read, then the rest of the client's body, frame by frame as it arrives.
pub(crate) struct PrefixedBody {
    prefix: VecDeque<Bytes>,
    prefix_len: u64,
    rest: Incoming,
}

impl PrefixedBody {
    fn new(prefix: VecDeque<Bytes>, prefix_len: usize, rest: Incoming) -> Self {
        PrefixedBody {
            prefix,
            prefix_len: prefix_len as u64,
            rest,
        }
    }
}

impl Body for PrefixedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(chunk) = self.prefix.pop_front() {
            self.prefix_len -= chunk.len() as u64;
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_empty() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        // What is left: the unread prefix plus what the client's stream still announces, so a
        // request with a `Content-Length` keeps it upstream.
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + self.prefix_len);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + self.prefix_len);
        }
        hint
    }
}
