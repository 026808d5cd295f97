namespace PgArchive.IO;

/// <summary>
/// A read-only stage that lets bytes through at the pace of a shared <see cref="ByteRateLimiter"/>: each read asks
/// for at most the limiter's chunk and, before it returns, waits for as many bytes of budget as it read (so the end of a
/// stream costs nothing, and a reader is at most one chunk ahead of its budget).
/// </summary>
internal sealed class RateLimitedReadStream(Stream inner, ByteRateLimiter limiter, bool leaveOpen = false) : ReadOnlyWrapperStream(inner, leaveOpen)
{
    public override int Read(Span<byte> buffer)
    {
        var read = Inner.Read(buffer[..Math.Min(buffer.Length, limiter.MaxChunk)]);
        limiter.Take(read);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await Inner.ReadAsync(buffer[..Math.Min(buffer.Length, limiter.MaxChunk)], cancellationToken).ConfigureAwait(false);
        await limiter.TakeAsync(read, cancellationToken).ConfigureAwait(false);
        return read;
    }

    /// <summary>Wraps <paramref name="stream"/> when there is a limiter; otherwise returns it as it is.</summary>
    public static Stream Over(Stream stream, ByteRateLimiter? limiter, bool leaveOpen = false) =>
        limiter is null ? stream : new RateLimitedReadStream(stream, limiter, leaveOpen);
}
