namespace PgArchive.IO;

/// <summary>
/// A read-only stage over an inner stream that it owns (disposes) unless told to leave it open. Subclasses look at
/// the bytes passing in <see cref="Observe"/> (which sees an empty span at the end), or override the reads.
/// </summary>
internal abstract class ReadOnlyWrapperStream(Stream inner, bool leaveOpen = false) : ReadOnlyStream
{
    /// <summary>The stream this stage reads from.</summary>
    protected Stream Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    public override int Read(Span<byte> buffer)
    {
        var read = Inner.Read(buffer);
        if (read > 0 || !buffer.IsEmpty)
        {
            Observe(buffer[..read]);
        }

        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read > 0 || !buffer.IsEmpty)
        {
            Observe(buffer.Span[..read]);
        }

        return read;
    }

    /// <summary>
    /// Sees the bytes just read; an empty span means the inner stream ended. A read into an empty buffer (which a tar
    /// entry's stream passes on once the entry is read) returns 0 without meaning the end, and is not observed. May
    /// throw to fail the read.
    /// </summary>
    protected virtual void Observe(ReadOnlySpan<byte> bytes)
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            Inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!leaveOpen)
        {
            await Inner.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }
}
