using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using PgArchive.Authentication;

namespace PgArchive.Storage;

/// <summary>
/// Authenticated archives: a store decorator that signs every object it puts and refuses every object it reads whose
/// signature does not verify. Beside each object it stores a small authentication record (<see cref="AuthenticationRecord"/>)
/// under <see cref="SidecarPrefix"/> + the object's key: the size and SHA-256 of the stored bytes and an HMAC-SHA256,
/// under the archive's <see cref="ArchiveAuthenticationKey"/>, of the object's key, size and SHA-256. Binding the key
/// makes a renamed object, or two swapped ones (sentinels, WAL segments), fail as surely as a changed byte. WAL-G never
/// lists <c>pgarchive_auth/</c>, so it reads such an archive as before.
/// </summary>
/// <remarks>
/// <para>
/// <c>AddPgArchive().UseArchiveAuthentication(...)</c> puts it in front of the retry layer, for every service. Puts hash
/// the content as it is stored (seekable content first, then rewound; streamed content as the store reads it) and then
/// store the record; a failed record put fails the put (the object stays, unauthenticated, until a retry rewrites both).
/// Reads (<see cref="OpenReadAsync"/>) open the object and its record, check the record's MAC before returning, and
/// check size and SHA-256 when the reader reaches the recorded size or the end: a reader that reads to the end (as
/// every PgArchive reader does; <see cref="ObjectCodec"/> drains the stored bytes when the content ends) never accepts
/// bytes that are not authentic. Failures are <see cref="ObjectNotAuthenticatedException"/>s.
/// </para>
/// <para>
/// Ranged reads are refused: a range cannot be checked against the whole object's hash, and no PgArchive service
/// reads ranges above the retry layer. <see cref="GetInfoAsync"/> and <see cref="ListAsync"/> pass through (listings
/// hide nothing, so garbage collection sees everything) but never yield records; <see cref="DeleteAsync"/> deletes the
/// records with the objects. <see cref="CopyAsync"/> copies within the store when the store can, after checking the
/// source's record, and records the copy with the source's size and SHA-256, so reading the copy checks its bytes.
/// </para>
/// <para>
/// What it does not stop: a writer to the bucket can still delete objects, or put back an older authentic object
/// together with its record (a rollback); see the README's threat model.
/// </para>
/// </remarks>
public sealed class AuthenticatingObjectStore : IObjectStore, IObjectCopier
{
    /// <summary>Where the authentication records live: this prefix followed by the object's key.</summary>
    public const string SidecarPrefix = "pgarchive_auth/";

    private readonly IObjectStore _inner;
    private readonly ArchiveAuthenticationKey _key;

    /// <summary>Authenticates what goes through <paramref name="inner"/> with <paramref name="key"/>.</summary>
    public AuthenticatingObjectStore(IObjectStore inner, ArchiveAuthenticationKey key)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _key = key ?? throw new ArgumentNullException(nameof(key));
    }

    /// <summary>The store the objects and their records go to.</summary>
    public IObjectStore Inner => _inner;

    /// <summary>The key of <paramref name="key"/>'s authentication record.</summary>
    public static string SidecarKey(string key) => SidecarPrefix + key;

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        RefuseRecordKey(key);
        ArgumentNullException.ThrowIfNull(content);
        long size;
        byte[] sha256;
        if (content.CanSeek)
        {
            var start = content.Position;
            sha256 = await SHA256.HashDataAsync(content, cancellationToken).ConfigureAwait(false);
            size = content.Position - start;
            content.Position = start;
            await _inner.PutAsync(key, content, mode, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var hashing = new AuthenticatingReadStream(content, key, expected: null, leaveOpen: true);
            await using (hashing.ConfigureAwait(false))
            {
                await _inner.PutAsync(key, hashing, mode, cancellationToken).ConfigureAwait(false);
                size = hashing.BytesRead;
                sha256 = hashing.Sha256;
            }
        }

        await PutRecordAsync(key, size, sha256, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ObjectNotAuthenticatedException">The object's record is missing or does not verify; or, while reading, its bytes differ.</exception>
    /// <exception cref="NotSupportedException">A range was asked for.</exception>
    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        RefuseRecordKey(key);
        if (range is not null)
        {
            throw new NotSupportedException($"Cannot read a range of '{key}' with archive authentication on: only whole objects can be authenticated.");
        }

        var stream = await _inner.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        try
        {
            var recorded = await ReadRecordAsync(key, cancellationToken).ConfigureAwait(false);
            return new AuthenticatingReadStream(stream, key, recorded);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => _inner.GetInfoAsync(key, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var info in _inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!info.Key.StartsWith(SidecarPrefix, StringComparison.Ordinal))
            {
                yield return info;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Each object's authentication record goes with it, in the same call.</remarks>
    public Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.ToList();
        return _inner.DeleteAsync([.. list, .. list.Where(k => !k.StartsWith(SidecarPrefix, StringComparison.Ordinal)).Select(SidecarKey)], cancellationToken);
    }

    /// <inheritdoc />
    public bool CanCopy => _inner is IObjectCopier { CanCopy: true };

    /// <inheritdoc />
    /// <remarks>
    /// The source's record is checked first; the copy gets a record of its own with the source's size and SHA-256, so a
    /// source whose bytes were altered yields a copy that fails when read.
    /// </remarks>
    /// <exception cref="ObjectNotAuthenticatedException">The source's record is missing or does not verify.</exception>
    public async Task CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        RefuseRecordKey(sourceKey);
        RefuseRecordKey(destinationKey);
        var copier = _inner as IObjectCopier is { CanCopy: true } c ? c : throw new NotSupportedException("The store cannot copy objects.");
        (long Size, byte[] Sha256) recorded;
        try
        {
            recorded = await ReadRecordAsync(sourceKey, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotAuthenticatedException ex) when (ex.Failure == AuthenticationFailure.SidecarMissing)
        {
            // No record and no object: the source does not exist, as an unauthenticated copy would report.
            if (await _inner.GetInfoAsync(sourceKey, cancellationToken).ConfigureAwait(false) is null)
            {
                throw ObjectStoreException.NotFound(sourceKey, ex);
            }

            throw;
        }

        await copier.CopyAsync(sourceKey, destinationKey, cancellationToken).ConfigureAwait(false);
        await PutRecordAsync(destinationKey, recorded.Size, recorded.Sha256, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records an object that is stored without its authentication record, once the caller has checked its content:
    /// for an object an earlier run stored but died before recording (wal-push stores create-only, so its retry finds
    /// the object). <paramref name="isExpected"/> reads the stored bytes to their end and says whether they are what
    /// the caller would have stored; only then is the record written, from the bytes it read. Returns its answer.
    /// </summary>
    internal async Task<bool> AdoptAsync(string key, Func<Stream, CancellationToken, Task<bool>> isExpected, CancellationToken cancellationToken)
    {
        RefuseRecordKey(key);
        var stored = new AuthenticatingReadStream(await _inner.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false), key, expected: null);
        await using (stored.ConfigureAwait(false))
        {
            if (!await isExpected(stored, cancellationToken).ConfigureAwait(false) || !stored.Ended)
            {
                return false;
            }

            await PutRecordAsync(key, stored.BytesRead, stored.Sha256, cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    private Task PutRecordAsync(string key, long size, byte[] sha256, CancellationToken cancellationToken) =>
        _inner.PutAsync(SidecarKey(key), new MemoryStream(AuthenticationRecord.Create(_key, key, size, sha256)), PutMode.Overwrite, cancellationToken);

    /// <summary>The size and SHA-256 the record of <paramref name="key"/> authenticates.</summary>
    private async Task<(long Size, byte[] Sha256)> ReadRecordAsync(string key, CancellationToken cancellationToken)
    {
        Stream stream;
        try
        {
            stream = await _inner.OpenReadAsync(SidecarKey(key), null, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.NotFound)
        {
            throw new ObjectNotAuthenticatedException(key, AuthenticationFailure.SidecarMissing);
        }

        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[AuthenticationRecord.MaximumLength + 1];
            var length = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (length > AuthenticationRecord.MaximumLength)
            {
                throw new ObjectNotAuthenticatedException(key, AuthenticationFailure.SidecarUnreadable);
            }

            return AuthenticationRecord.Verify(_key, key, buffer.AsSpan(0, length));
        }
    }

    private static void RefuseRecordKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.StartsWith(SidecarPrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{key}' is under {SidecarPrefix}, which holds the archive's authentication records.", nameof(key));
        }
    }
}
