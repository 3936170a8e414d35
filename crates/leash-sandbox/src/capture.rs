//! Bounded capture of one output stream: keep the first `cap` bytes, count the
//! rest and drop it, so memory stays bounded however much the child writes.

use crate::outcome::Captured;

/// The growing capture of one stream.
#[derive(Debug)]
pub(crate) struct StreamCapture {
    kept: Vec<u8>,
    cap: usize,
    total: u64,
}

impl StreamCapture {
    pub(crate) fn new(cap: usize) -> StreamCapture {
        StreamCapture {
            kept: Vec::new(),
            cap,
            total: 0,
        }
    }

    /// Records one chunk read from the child.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&chunk[..room.min(chunk.len())]);
        self.total = self.total.saturating_add(chunk.len() as u64);
    }

    pub(crate) fn finish(self) -> Captured {
        let truncated = self.total > self.kept.len() as u64;
        Captured {
            bytes: self.kept,
            total_bytes: self.total,
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_cap_and_counts_all() {
        let mut capture = StreamCapture::new(5);
        capture.push(b"abc");
        capture.push(b"defgh");
        capture.push(b"ij");
        let captured = capture.finish();
        assert_eq!(captured.bytes, b"abcde");
        assert_eq!(captured.total_bytes, 10);
        assert!(captured.truncated);
    }

    #[test]
    fn exactly_cap_is_not_truncated() {
        let mut capture = StreamCapture::new(3);
        capture.push(b"abc");
        let captured = capture.finish();
        assert_eq!(captured.bytes, b"abc");
        assert!(!captured.truncated);
    }
}
