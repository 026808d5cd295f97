using System.Security.Cryptography;
using PgArchive.IO;

namespace PgArchive.Storage;

/// <summary>
/// Counts and SHA-256-hashes an object's bytes as they are read. Given what the object's authentication record names
/// (<paramref name="expected"/>), it checks them: more bytes than recorded fail at once, and the read that reaches the
/// recorded size, or the end of the object, compares size and SHA-256 before the reader sees those last bytes or the
/// end. A mismatch is an <see cref="ObjectNotAuthenticatedException"/> naming the object.
/// </summary>
internal sealed class AuthenticatingReadStream(Stream inner, string key, (long Size, byte[] Sha256)? expected, bool leaveOpen = false)
    : ReadOnlyWrapperStream(inner, leaveOpen)
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[]? _sha256;

    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    /// <summary>True once the object's end was read.</summary>
    public bool Ended { get; private set; }

    /// <summary>The SHA-256 of the bytes read; ask once reading is over (it ends the hashing; after the end, also once disposed).</summary>
    public byte[] Sha256 => Hash();

    protected override void Observe(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
        {
            Ended = true;
            if (expected is { } end)
            {
                Check(end);
            }
            else
            {
                Hash();
            }

            return;
        }

        if (_sha256 is not null)
        {
            throw new ObjectNotAuthenticatedException(key, AuthenticationFailure.ContentDiffers); // bytes after the recorded end
        }

        _hash.AppendData(bytes);
        BytesRead += bytes.Length;
        if (expected is { } recorded && BytesRead >= recorded.Size)
        {
            Check(recorded);
        }
    }

    private void Check((long Size, byte[] Sha256) recorded)
    {
        if (BytesRead != recorded.Size || !CryptographicOperations.FixedTimeEquals(Hash(), recorded.Sha256))
        {
            throw new ObjectNotAuthenticatedException(key, AuthenticationFailure.ContentDiffers);
        }
    }

    private byte[] Hash() => _sha256 ??= _hash.GetHashAndReset();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        _hash.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
