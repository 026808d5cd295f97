using K4os.Hash.xxHash;
using PgArchive.IO;

namespace PgArchive.Compression;

/// <summary>
/// The decoded side of an LZ4 object: hashes the content with XXH32 and, at its end, compares it with the
/// frame's content checksum that <see cref="Lz4FrameTracker"/> picked out, so a flipped bit that still decodes
/// is reported as corrupt data. Objects of one frame (what WAL-G, the lz4 tool and PgArchive write) are checked;
/// the content checksums of several concatenated frames cannot be told apart in the decoded stream and are not.
/// </summary>
internal sealed class Lz4ContentChecksumStream(Stream decoded, Lz4FrameTracker frames) : ReadOnlyWrapperStream(decoded)
{
    private readonly XXH32 _hash = new(); // K4os' XXH32 runs about 1.5x as fast as System.IO.Hashing's here
    private bool _checked;

    protected override void Observe(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 0)
        {
            _hash.Update(bytes);
        }
        else if (!_checked)
        {
            _checked = true;
            if (frames.Tracking && frames.CompletedFrames == 1 && frames.LastContentChecksum is { } recorded
                && _hash.Digest() is var actual && actual != recorded)
            {
                throw new InvalidDataException($"The lz4 data is corrupt: its content checksum is {actual:x8}, the frame records {recorded:x8}.");
            }
        }
    }
}
