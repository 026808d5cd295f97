namespace PgArchive.Support;

/// <summary>
/// A store connection that never answers: every read or write waits until the token passed to that call is cancelled
/// (then <see cref="OperationCanceledException"/>), or for <see cref="Patience"/> (then <see cref="TimeoutException"/>,
/// which tells a test that the caller's token was not passed down, or that a synchronous call was made on an async path).
/// </summary>
internal sealed class StallingStream(bool readable) : Stream
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public override bool CanRead => readable;
    public override bool CanSeek => false;
    public override bool CanWrite => !readable;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Stall();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => await StallAsync(cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => StallAsync(cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => Stall();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => await StallAsync(cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => StallAsync(cancellationToken);

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private static int Stall()
    {
        Thread.Sleep(Patience);
        throw new TimeoutException("A synchronous call on the stalled stream: cancellation cannot reach it.");
    }

    private static async Task<int> StallAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(Patience, cancellationToken);
        throw new TimeoutException("The stalled stream waited in vain: the caller's cancellation token was not passed down.");
    }
}
