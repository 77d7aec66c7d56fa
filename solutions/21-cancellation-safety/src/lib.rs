//! The client side of a market-data feed. The exchange sends length-prefixed frames: a 4-byte
//! big-endian length, then that many bytes of payload. The exchange drops any client that stays
//! silent for 3 s, so the client sends a heartbeat (an empty frame) every second. The reference
//! solution.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time;

/// How often the client sends a heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// A heartbeat: an empty frame.
pub const HEARTBEAT: [u8; 4] = [0; 4];

/// The largest payload the exchange ever sends. A bigger length prefix means the stream is
/// broken, and allocating that much would take the process down.
pub const MAX_FRAME: usize = 64 * 1024;

/// Runs one feed session: passes every frame read from `reader` to `frames`, in order, and
/// writes a heartbeat to `writer` every `HEARTBEAT_EVERY` until the exchange closes the
/// connection.
///
/// Returns `Ok(())` when the exchange closes the connection between two frames (or when nobody
/// listens on `frames` any more), and an error when reading or writing fails or a frame is
/// malformed.
pub async fn run_session<R, W>(
    reader: R,
    mut writer: W,
    frames: mpsc::Sender<Vec<u8>>,
) -> io::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin,
{
    // When the heartbeat wins the `select!`, the frame read that lost is dropped. That is only
    // safe if dropping it loses nothing: the bytes of a half-read frame must live outside the
    // read's future, in a buffer that the next read carries on from.
    let mut frames_in = FrameReader::new(reader);
    let mut heartbeat = time::interval(HEARTBEAT_EVERY);
    loop {
        // Wait for whichever comes first: the next frame, or the time to send a heartbeat.
        tokio::select! {
            frame = frames_in.read_frame() => match frame? {
                Some(frame) => {
                    if frames.send(frame).await.is_err() {
                        return Ok(());
                    }
                }
                None => return Ok(()),
            },
            _ = heartbeat.tick() => writer.write_all(&HEARTBEAT).await?,
        }
    }
}

/// Reads frames from a connection, keeping the bytes of a frame that is not complete yet.
struct FrameReader<R> {
    reader: R,
    /// Bytes read from the connection and not yet returned as a frame.
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    fn new(reader: R) -> Self {
        FrameReader {
            reader,
            buf: Vec::with_capacity(4 * 1024),
        }
    }

    /// Reads one frame. `Ok(None)` means the connection was closed between two frames.
    ///
    /// Cancel safe: if the future is dropped before it completes, whatever it read is still in
    /// `self.buf`, and the next call carries on from there.
    async fn read_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(frame) = self.parse_frame()? {
                return Ok(Some(frame));
            }
            // `read_buf` is cancel safe: if it is dropped before it completes, it read nothing.
            // (`read_exact` and `read_u32` are not: the bytes they took go down with them.)
            if self.reader.read_buf(&mut self.buf).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
        }
    }

    /// Takes one whole frame off the front of the buffer, if it holds one.
    fn parse_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(&prefix) = self.buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(prefix) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame of {len} bytes is over the limit of {MAX_FRAME}"),
            ));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let frame = self.buf[4..4 + len].to_vec();
        self.buf.drain(..4 + len);
        Ok(Some(frame))
    }
}
