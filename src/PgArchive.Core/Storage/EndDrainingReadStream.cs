using PgArchive.IO;

namespace PgArchive.Storage;

/// <summary>
/// Reads decoded content and makes the checks of the stored bytes it was decoded from (a recorded checksum, archive
/// authentication) have their say: when the content ends, the rest of the stored bytes is read before the end is
/// reported (a decoder may stop at its format's end marker); when decoding fails, the rest is read too, and if the
/// stored bytes fail their own check, that failure (an <see cref="ObjectCorruptException"/> naming the object) is
/// reported instead of the decoder's, which could only say "corrupt or another key". Disposes the content stream,
/// which owns the stored one.
/// </summary>
internal sealed class EndDrainingReadStream(Stream content, Stream stored) : ReadOnlyWrapperStream(content)
{
    private bool _drained;

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = Inner.Read(buffer);
        }
        catch (Exception ex) when (IsDecodingError(ex) && !_drained)
        {
            _drained = true;
            try
            {
                stored.CopyTo(Stream.Null);
            }
            catch (Exception other) when (other is not ObjectCorruptException)
            {
                // the decoding error stands
            }

            throw;
        }

        if (read == 0 && buffer.Length > 0 && !_drained)
        {
            _drained = true;
            stored.CopyTo(Stream.Null);
        }

        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        try
        {
            read = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsDecodingError(ex) && !_drained)
        {
            _drained = true;
            try
            {
                await stored.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception other) when (other is not (ObjectCorruptException or OperationCanceledException))
            {
                // the decoding error stands
            }

            throw;
        }

        if (read == 0 && buffer.Length > 0 && !_drained)
        {
            _drained = true;
            await stored.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        }

        return read;
    }

    private static bool IsDecodingError(Exception ex) => ex is InvalidDataException or EndOfStreamException or FormatException;
}
