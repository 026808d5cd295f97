using PgArchive.IO;

namespace PgArchive.Compression;

/// <summary>
/// Reads a codec library's decompression stream and turns the library's own "bad data" exceptions into
/// <see cref="InvalidDataException"/>, the type every caller maps to "'KEY' is corrupt or was not written with
/// this configuration's encryption". Exceptions of the layers below (storage, decryption) pass unchanged.
/// </summary>
internal sealed class DecompressionErrorStream(Stream inner, string method, Func<Exception, bool> isCodecError) : ReadOnlyWrapperStream(inner)
{
    public override int Read(Span<byte> buffer)
    {
        try
        {
            return Inner.Read(buffer);
        }
        catch (Exception ex) when (isCodecError(ex))
        {
            throw Corrupt(ex);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (isCodecError(ex))
        {
            throw Corrupt(ex);
        }
    }

    private InvalidDataException Corrupt(Exception ex) => new($"The {method} data is corrupt: {ex.Message}", ex);
}
