using System.IO.Hashing;
using PgArchive.IO;

namespace PgArchive.Storage;

/// <summary>
/// Reads an object's stored bytes and, when they end, compares their size and XXH128 with what was recorded
/// when the object was written; a mismatch throws <see cref="ObjectCorruptException"/> naming the object.
/// Decoders may stop before the last byte: call <see cref="ReadToEndAndVerifyAsync"/> once they are done.
/// </summary>
internal sealed class ChecksumVerifyingStream(Stream inner, string key, StoredChecksum expected) : ReadOnlyStream
{
    private readonly XxHash128 _hash = new();
    private long _read;
    private bool _verified;

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        return Account(buffer[..read]);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span[..read]);
    }

    /// <summary>Reads whatever the decoder left and checks the whole object.</summary>
    public async Task ReadToEndAndVerifyAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        while (await ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
        {
        }
    }

    private int Account(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
        {
            Verify();
            return 0;
        }

        _hash.Append(bytes);
        _read += bytes.Length;
        if (_read > expected.Size)
        {
            throw new ObjectCorruptException(key, $"it is longer than the {expected.Size} bytes written");
        }

        return bytes.Length;
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

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
