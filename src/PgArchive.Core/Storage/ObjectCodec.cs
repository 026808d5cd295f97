using PgArchive.Compression;
using PgArchive.Encryption;

namespace PgArchive.Storage;

/// <summary>
/// The two ends of the data path between plaintext and stored bytes: plaintext → compress → encrypt → store
/// on the way in, store → decrypt → decompress → plaintext on the way out.
/// </summary>
public sealed class ObjectCodec(CompressorRegistry compressors, IEncryptor encryptor)
{
    /// <summary>The compressors, to pick the one an object needs.</summary>
    public CompressorRegistry Compressors { get; } = compressors ?? throw new ArgumentNullException(nameof(compressors));

    /// <summary>Names how objects are encrypted (method and key identity, never the key): <see cref="IEncryptor.KeyIdentity"/>.</summary>
    internal string EncryptionIdentity => encryptor.KeyIdentity;

    /// <summary>A stream that encodes what is written to it into <paramref name="sink"/>, which it leaves open.</summary>
    public Stream Encode(Stream sink, ICompressor compressor)
    {
        ArgumentNullException.ThrowIfNull(compressor);
        return compressor.CreateCompressionStream(encryptor.CreateEncryptionStream(sink, leaveOpen: true));
    }

    /// <summary>
    /// A stream of the plaintext of <paramref name="stored"/>, which it disposes. When the plaintext ends, the rest of the
    /// stored bytes is read before the end is reported, so that checks of the stored bytes (a recorded checksum, archive
    /// authentication) have run by the time a reader sees the end.
    /// </summary>
    public Stream Decode(Stream stored, IDecompressor decompressor)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(decompressor);
        return new EndDrainingReadStream(decompressor.CreateDecompressionStream(encryptor.CreateDecryptionStream(stored)), stored);
    }

    /// <summary>Opens and decodes a stored object, choosing the decompressor from its key's extension.</summary>
    public async Task<Stream> OpenDecodedAsync(IObjectStore store, string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var compressor = CompressorFor(key);
        var stored = await store.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        return Decode(stored, compressor);
    }

    /// <summary>
    /// Opens and decodes a stored object like <see cref="OpenDecodedAsync"/>, and when <paramref name="expected"/> is
    /// given also checks its stored bytes against it once <see cref="DecodedObject.ReadToEndAndVerifyAsync"/> runs.
    /// </summary>
    public async Task<DecodedObject> OpenVerifiedAsync(IObjectStore store, string key, StoredChecksum? expected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var compressor = CompressorFor(key);
        var stored = await store.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        var verifying = expected is null ? null : new ChecksumVerifyingStream(stored, key, expected);
        return new DecodedObject(key, Decode(verifying ?? stored, compressor), verifying);
    }

    /// <summary>The method an object was written with, told by the extension after its last dot.</summary>
    public IDecompressor CompressorFor(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = key[(key.LastIndexOf('/') + 1)..];
        var dot = name.LastIndexOf('.');
        var extension = dot < 0 ? "" : name[(dot + 1)..];
        return Compressors.FindByExtension(extension) ?? Compressors.FindByExtension("")
            ?? throw new PgArchiveException($"No decompressor is registered for '{key}'.");
    }
}
