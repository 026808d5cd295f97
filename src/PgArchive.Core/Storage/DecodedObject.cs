namespace PgArchive.Storage;

/// <summary>
/// An object opened for reading through decryption and decompression, with the checks that can only run
/// at its end: call <see cref="ReadToEndAndVerifyAsync"/> once the content is consumed, so the codecs'
/// trailers (LZ4/zstd content checksum, libsodium's FINAL chunk, OpenPGP's MDC) and the stored-bytes
/// checksum recorded when the object was written are all checked before its content counts as good.
/// </summary>
public sealed class DecodedObject : IAsyncDisposable
{
    private readonly ChecksumVerifyingStream? _stored;

    internal DecodedObject(string key, Stream content, ChecksumVerifyingStream? stored)
    {
        Key = key;
        Content = content;
        _stored = stored;
    }

    /// <summary>The object's key.</summary>
    public string Key { get; }

    /// <summary>The plaintext.</summary>
    public Stream Content { get; }

    /// <summary>True when the stored bytes are checked against a recorded checksum.</summary>
    public bool HasRecordedChecksum => _stored is not null;

    /// <summary>Reads what is left of the content and of the stored bytes, and runs the end checks.</summary>
    /// <exception cref="ObjectCorruptException">The stored bytes are not those written.</exception>
    public async Task ReadToEndAndVerifyAsync(CancellationToken cancellationToken)
    {
        await Content.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        await VerifyStoredBytesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the rest of the stored bytes (not the content) and checks them against the recorded checksum;
    /// after a decoding error this tells damage in the store from a wrong key or codec. Nothing happens when no
    /// checksum was recorded.
    /// </summary>
    /// <exception cref="ObjectCorruptException">The stored bytes are not those written.</exception>
    public Task VerifyStoredBytesAsync(CancellationToken cancellationToken) =>
        _stored?.ReadToEndAndVerifyAsync(cancellationToken) ?? Task.CompletedTask;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Content.DisposeAsync();
}
