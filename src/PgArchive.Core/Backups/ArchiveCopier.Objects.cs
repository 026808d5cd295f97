using System.Collections.Concurrent;
using System.IO.Hashing;
using PgArchive.Diagnostics;
using PgArchive.Encryption;
using PgArchive.IO;
using PgArchive.Storage;

namespace PgArchive.Backups;

// ArchiveCopier, one object at a time: stored create-only, re-encrypted when the keys differ, one already in the destination judged.
public sealed partial class ArchiveCopier
{
    private const int CompareBufferSize = 1 << 16;

    private async Task CopyObjectAsync(CopyItem item, Dictionary<string, long> present, Totals totals, CancellationToken cancellationToken)
    {
        var key = item.Info.Key;
        if (!present.TryGetValue(key, out var size))
        {
            try
            {
                var written = await WriteAsync(item, totals, cancellationToken).ConfigureAwait(false);
                Log.ObjectCopied(_logger, key, written);
                Interlocked.Increment(ref totals.Copied);
                Interlocked.Add(ref totals.BytesCopied, written);
                return;
            }
            catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
            {
                // Stored since the destination was listed (another copy at work): judged like one that was there.
                var info = await _destination.GetInfoAsync(key, cancellationToken).ConfigureAwait(false);
                if (info is null)
                {
                    throw;
                }

                size = info.Size;
            }
        }

        await AcceptExistingAsync(item, size, totals, cancellationToken).ConfigureAwait(false);
        Log.ObjectAlreadyCopied(_logger, key);
        Interlocked.Increment(ref totals.Skipped);
    }

    /// <summary>Stores <paramref name="item"/> create-only; returns the bytes stored.</summary>
    private async Task<long> WriteAsync(CopyItem item, Totals totals, CancellationToken cancellationToken)
    {
        var key = item.Info.Key;
        if (item.Content is { } content)
        {
            await _destination.PutAsync(key, new MemoryStream(content), PutMode.CreateNew, cancellationToken).ConfigureAwait(false);
            return content.Length;
        }

        if (Recode(item) is not { } recoding)
        {
            var stream = await _source.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                // A recorded partition is hashed as it streams; ChecksumVerifyingStream throws at its end when it differs, so the put stores nothing.
                var verified = item.Recorded is null ? stream : new ChecksumVerifyingStream(stream, key, item.Recorded);
                await using (verified.ConfigureAwait(false))
                {
                    await _destination.PutAsync(key, verified, PutMode.CreateNew, cancellationToken).ConfigureAwait(false);
                }
            }

            return item.Info.Size;
        }

        // Decrypted with the source's key, encrypted with the destination's, the stored bytes hashed for files_metadata.json;
        // a failure on the way (a source that does not decrypt, or differs from its checksum) fails the put, which stores nothing.
        var hash = new XxHash128();
        var stored = await StreamingUpload.PutAsync(_destination, key, PutMode.CreateNew, async (sink, ct) =>
        {
            var encrypting = recoding.To.CreateEncryptionStream(PassThroughStream.Wrap(sink, leaveOpen: true, hash));
            await using (encrypting.ConfigureAwait(false))
            {
                var plaintext = await OpenSourcePlaintextAsync(item, recoding, ct).ConfigureAwait(false);
                await using (plaintext.ConfigureAwait(false))
                {
                    try
                    {
                        await plaintext.CopyToAsync(encrypting, CompareBufferSize, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (IsDecodingError(ex))
                    {
                        throw new PgArchiveException($"'{key}' of the source cannot be decrypted with the source's key: {ex.Message}", ex);
                    }
                }
            }
        }, cancellationToken).ConfigureAwait(false);
        totals.Stored[key] = new StoredChecksum(stored, Convert.ToHexStringLower(hash.GetCurrentHash()));
        return stored;
    }

    /// <summary>
    /// Accepts <paramref name="item"/>, found in the destination with <paramref name="size"/> bytes, when it is the same
    /// (see the class's remarks); otherwise throws, leaving it as it is.
    /// </summary>
    private async Task AcceptExistingAsync(CopyItem item, long size, Totals totals, CancellationToken cancellationToken)
    {
        var key = item.Info.Key;
        if (item.Content is { } content)
        {
            if (size != content.Length || !await IsSameAsync(key, (stored, ct) => StreamComparer.EqualAsync(stored, new MemoryStream(content), CompareBufferSize, ct),
                    recordIsEnough: false, cancellationToken).ConfigureAwait(false))
            {
                throw Conflict(key, "it is not the files_metadata.json this copy writes (its checksums describe other partitions)");
            }

            return;
        }

        if (Recode(item) is not { } recoding)
        {
            if (size != item.Info.Size)
            {
                throw Conflict(key, $"it holds {size} bytes, the source's {item.Info.Size}");
            }

            // An authenticated destination: a record that verifies is enough; one a run that stopped never wrote is
            // written once the object is found to be the source's, byte for byte.
            if (_destination is AuthenticatingObjectStore && !await IsSameAsync(key, (stored, ct) => SameStoredBytesAsync(stored, item, ct),
                    recordIsEnough: true, cancellationToken).ConfigureAwait(false))
            {
                throw Conflict(key, "its bytes differ from the source's");
            }

            return;
        }

        // Re-encrypted: the same plaintext under the destination's key. Its stored size and XXH128 go into files_metadata.json.
        var hash = new XxHash128();
        long storedBytes = 0;
        async Task<bool> SamePlaintextAsync(Stream stored, CancellationToken ct)
        {
            hash.Reset();
            var hashed = PassThroughStream.Wrap(stored, leaveOpen: true, hash);
            var mine = Plaintext(recoding.To, hashed);
            await using (mine.ConfigureAwait(false))
            {
                var theirs = await OpenSourcePlaintextAsync(item, recoding, ct).ConfigureAwait(false);
                await using (theirs.ConfigureAwait(false))
                {
                    try
                    {
                        var same = await StreamComparer.EqualAsync(mine, theirs, CompareBufferSize, ct).ConfigureAwait(false);
                        storedBytes = hashed.BytesTransferred;
                        return same;
                    }
                    catch (Exception ex) when (IsDecodingError(ex))
                    {
                        throw Conflict(key, $"it cannot be compared with the source's (it decrypted with the destination's key, the source's with its own): {ex.Message.ReplaceLineEndings(" ")}", ex);
                    }
                }
            }
        }

        if (!await IsSameAsync(key, SamePlaintextAsync, recordIsEnough: false, cancellationToken).ConfigureAwait(false))
        {
            throw Conflict(key, "decrypted with the destination's key, it differs from the source's decrypted with the source's");
        }

        totals.Stored[key] = new StoredChecksum(storedBytes, Convert.ToHexStringLower(hash.GetCurrentHash()));
    }

    /// <summary>
    /// Runs <paramref name="same"/> over the destination's stored bytes of <paramref name="key"/> (unless the record of an
    /// authenticated destination verifies and <paramref name="recordIsEnough"/>); when the destination authenticates and
    /// the object has no record, the record is written from the bytes read, if <paramref name="same"/> says yes.
    /// </summary>
    private async Task<bool> IsSameAsync(string key, Func<Stream, CancellationToken, Task<bool>> same, bool recordIsEnough, CancellationToken cancellationToken)
    {
        try
        {
            var stored = await _destination.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
            await using (stored.ConfigureAwait(false))
            {
                return recordIsEnough || await same(stored, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ObjectNotAuthenticatedException ex) when (ex.Failure == AuthenticationFailure.SidecarMissing && _destination is AuthenticatingObjectStore authenticating)
        {
            var adopted = await authenticating.AdoptAsync(key, same, cancellationToken).ConfigureAwait(false);
            if (adopted)
            {
                Log.CopiedObjectRecorded(_logger, key);
            }

            return adopted;
        }
    }

    /// <summary>Whether <paramref name="stored"/> holds the source's bytes of <paramref name="item"/>, checked against its recorded checksum.</summary>
    private async Task<bool> SameStoredBytesAsync(Stream stored, CopyItem item, CancellationToken cancellationToken)
    {
        var source = await _source.OpenReadAsync(item.Info.Key, null, cancellationToken).ConfigureAwait(false);
        var verified = item.Recorded is null ? source : new ChecksumVerifyingStream(source, item.Info.Key, item.Recorded);
        await using (verified.ConfigureAwait(false))
        {
            return await StreamComparer.EqualAsync(stored, verified, CompareBufferSize, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The plaintext of <paramref name="item"/> in the source, its stored bytes checked against the recorded checksum.</summary>
    private async Task<Stream> OpenSourcePlaintextAsync(CopyItem item, Recoding recoding, CancellationToken cancellationToken)
    {
        var stored = await _source.OpenReadAsync(item.Info.Key, null, cancellationToken).ConfigureAwait(false);
        return Plaintext(recoding.From, item.Recorded is null ? stored : new ChecksumVerifyingStream(stored, item.Info.Key, item.Recorded));
    }

    /// <summary>Decrypts <paramref name="stored"/>, reading it to its end so that the checks of the stored bytes run.</summary>
    private static EndDrainingReadStream Plaintext(IEncryptor encryptor, Stream stored) => new(encryptor.CreateDecryptionStream(stored), stored);

    private Recoding? Recode(CopyItem item) => item.Encrypted ? _recoding : null;

    private static bool IsDecodingError(Exception ex) => ex is InvalidDataException or EndOfStreamException or FormatException;

    private static PgArchiveException Conflict(string key, string detail, Exception? innerException = null) =>
        new($"'{key}' is already in the destination and is not what the copy stores: {detail}. It was left as it is; " +
            "remove it from the destination if it is not needed there, or copy to another store.", innerException);

    /// <summary>The encryptors a re-encrypting copy decrypts and encrypts with.</summary>
    private sealed record Recoding(IEncryptor From, IEncryptor To);

    /// <summary>One object to copy: its source listing, the checksum recorded for it, whether it is an encrypted payload.</summary>
    private sealed record CopyItem(ObjectInfo Info, StoredChecksum? Recorded, bool Encrypted)
    {
        /// <summary>The bytes to store instead of the source's (a rewritten files_metadata.json).</summary>
        public byte[]? Content { get; init; }
    }

    private sealed class Totals
    {
        public int Copied;
        public int Skipped;
        public long BytesCopied;

        /// <summary>Key → size and XXH128 of what the destination holds, for each re-encrypted object.</summary>
        public ConcurrentDictionary<string, StoredChecksum> Stored { get; } = new(StringComparer.Ordinal);
    }
}
