using PgArchive.IO;

namespace PgArchive.Compression;

/// <summary>
/// Passes a compressed object through, failing if it holds no bytes at all: every codec writes at least a
/// header, so an empty object is a truncated one, never empty content.
/// </summary>
internal sealed class NonEmptySourceStream(Stream inner, string method, bool leaveOpen) : ReadOnlyStream
{
    private bool _sawData;

    public override int Read(Span<byte> buffer) => Check(inner.Read(buffer), buffer.Length);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Check(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false), buffer.Length);

    private int Check(int read, int requested)
    {
        if (read > 0)
        {
            _sawData = true;
        }
        else if (!_sawData && requested > 0)
        {
            throw new InvalidDataException($"The {method} data is empty: the object is truncated (every {method} stream has a header).");
        }

        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!leaveOpen)
        {
            await inner.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }
}
