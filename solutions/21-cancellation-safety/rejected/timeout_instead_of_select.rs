//! Rejected: waits for a frame with `timeout(HEARTBEAT_EVERY, ..)` and sends a heartbeat when it elapses; the timeout drops the half-read frame exactly as `select!` did.
//! Fails: frames_split_across_heartbeats_arrive_intact, a_frame_that_trickles_in_for_a_minute_arrives_intact, frames_cut_at_every_byte_arrive_intact
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
    mut reader: R,
    mut writer: W,
    frames: mpsc::Sender<Vec<u8>>,
) -> io::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin,
{
    // No race between two branches any more: wait up to a heartbeat period for the next frame,
    // and send a heartbeat whenever none came in that time.
    loop {
        match time::timeout(HEARTBEAT_EVERY, read_frame(&mut reader)).await {
            Ok(frame) => match frame? {
                Some(frame) => {
                    if frames.send(frame).await.is_err() {
                        return Ok(());
                    }
                }
                None => return Ok(()),
            },
            Err(_elapsed) => writer.write_all(&HEARTBEAT).await?,
        }
    }
}

/// Reads one frame. `Ok(None)` means the connection was closed before a new frame started.
async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Option<Vec<u8>>> {
    let len = match reader.read_u32().await {
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
    let mut payload = vec![0; len];
    reader.read_exact(&mut payload).await?;
    Ok(Some(payload))
}
