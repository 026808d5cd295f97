using System.IO.Hashing;
using PgArchive.IO;

namespace PgArchive.Storage;

/// <summary>
/// Reads an object's stored bytes and, when they end, compares their size and XXH128 with what was recorded
/// when the object was written; a mismatch throws <see cref="ObjectCorruptException"/> naming the object.
/// Decoders may stop before the last byte: call <see cref="ReadToEndAndVerifyAsync"/> once they are done.
/// </summary>
internal sealed class ChecksumVerifyingStream(Stream inner, string key, StoredChecksum expected) : ReadOnlyWrapperStream(inner)
{
    private readonly XxHash128 _hash = new();
    private long _read;
    private bool _verified;

    /// <summary>Reads whatever the decoder left and checks the whole object.</summary>
    public async Task ReadToEndAndVerifyAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        while (await ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
        {
        }
    }

    protected override void Observe(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
        {
            Verify();
            return;
        }

        _hash.Append(bytes);
        _read += bytes.Length;
        if (_read > expected.Size)
        {
            throw new ObjectCorruptException(key, $"it is longer than the {expected.Size} bytes written");
        }
    }

    private void Verify()
    {
        if (_verified)
        {
            return;
        }

        if (_read != expected.Size)
        {
            throw new ObjectCorruptException(key, $"it ends after {_read} of the {expected.Size} bytes written (truncated)");
        }

        var actual = Convert.ToHexStringLower(_hash.GetCurrentHash());
        if (!string.Equals(actual, expected.XxHash128, StringComparison.OrdinalIgnoreCase))
        {
            throw new ObjectCorruptException(key, $"its bytes do not match the checksum recorded when it was written (XXH128 {actual}, recorded {expected.XxHash128})");
        }

        _verified = true;
    }
}
