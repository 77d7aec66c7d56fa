//! Rejected: keeps a half-read payload outside the `select!`, but still reads the length prefix with `read_u32`; a tick in the middle of a prefix still loses its first bytes.
//! Fails: a_frame_that_trickles_in_for_a_minute_arrives_intact, frames_cut_at_every_byte_arrive_intact
//! The client side of a market-data feed. The exchange sends length-prefixed frames: a 4-byte
//! big-endian length, then that many bytes of payload. The exchange drops any client that stays
//! silent for 3 s, so the client sends a heartbeat (an empty frame) every second.

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
    let mut frames_in = FrameReader {
        reader,
        len: None,
        payload: Vec::new(),
    };
    let mut heartbeat = time::interval(HEARTBEAT_EVERY);
    loop {
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

/// Keeps the frame being read between two calls: its length, once known, and the payload bytes
/// read so far.
struct FrameReader<R> {
    reader: R,
    len: Option<usize>,
    payload: Vec<u8>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Reads one frame. `Ok(None)` means the connection was closed before a new frame started.
    async fn read_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        let len = match self.len {
            Some(len) => len,
            None => {
                let len = match self.reader.read_u32().await {
                    Ok(len) => len as usize,
                    Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(err) => return Err(err),
                };
                if len > MAX_FRAME {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("frame of {len} bytes is over the limit of {MAX_FRAME}"),
                    ));
                }
                self.len = Some(len);
                len
            }
        };
        // `read` is cancel safe: the bytes it returns go straight into `self.payload`.
        let mut chunk = [0; 1024];
        while self.payload.len() < len {
            let want = (len - self.payload.len()).min(chunk.len());
            let n = self.reader.read(&mut chunk[..want]).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.payload.extend_from_slice(&chunk[..n]);
        }
        self.len = None;
        Ok(Some(std::mem::take(&mut self.payload)))
    }
}
