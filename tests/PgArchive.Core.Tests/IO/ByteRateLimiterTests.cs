using Microsoft.Extensions.Time.Testing;

namespace PgArchive.IO;

/// <summary>
/// One budget for every reader, on a clock the tests move by hand: what the tests see is how many bytes the limiter lets
/// through per step of the clock, never how long anything takes.
/// </summary>
public sealed class ByteRateLimiterTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // 1 MiB/s: the bucket holds 64 KiB, and 1/16 s of the clock pays for one 64 KiB chunk.
    private const int Chunk = 64 << 10;
    private const long Rate = 16L * Chunk;
    private static readonly TimeSpan ChunkTime = TimeSpan.FromSeconds(1.0 / 16);

    [Fact]
    public void The_bucket_holds_a_twentieth_of_a_second_and_never_less_than_64_KiB()
    {
        Assert.Equal(5 << 20, new ByteRateLimiter(100L << 20).MaxChunk);
        Assert.Equal(64 << 10, new ByteRateLimiter(1000).MaxChunk);
    }

    [Fact]
    public async Task A_read_is_cut_to_one_chunk_and_returns_once_the_rate_has_paid_for_it()
    {
        var clock = new FakeTimeProvider();
        var limiter = new ByteRateLimiter(Rate, clock);
        var stream = new RateLimitedReadStream(new MemoryStream(new byte[4 * Chunk]), limiter);
        var buffer = new byte[1 << 20];

        Assert.Equal(Chunk, await stream.ReadAsync(buffer, Token)); // the full bucket
        var waiting = stream.ReadAsync(buffer, Token).AsTask();
        Assert.False(waiting.IsCompleted, "a read beyond the budget waits for the rate to pay for it");

        clock.Advance(ChunkTime / 2);
        Assert.False(waiting.IsCompleted, "half a chunk's time pays for half of it");
        clock.Advance(ChunkTime / 2);
        Assert.Equal(Chunk, await waiting);
    }

    [Fact]
    public async Task Parallel_readers_share_one_budget()
    {
        var clock = new FakeTimeProvider();
        var limiter = new ByteRateLimiter(Rate, clock);
        var readers = Enumerable.Range(0, 4).Select(_ => new RateLimitedReadStream(new MemoryStream(new byte[8 * Chunk]), limiter)).ToList();
        var done = 0L;
        var reads = readers.Select(r => Task.Run(async () =>
        {
            var buffer = new byte[Chunk];
            int n;
            while ((n = await r.ReadAsync(buffer, Token)) > 0)
            {
                Interlocked.Add(ref done, n);
            }
        }, Token)).ToList();

        // Four readers of 8 chunks each need 32 chunks of budget: the full bucket and 31 chunks' time, whichever reader
        // takes each (the read that finds the end costs nothing). A reader is at most one chunk ahead of what is paid.
        var steps = 0;
        while (!reads.All(t => t.IsCompleted))
        {
            await Task.Delay(2, Token);
            var paid = (1 + steps) * (long)Chunk;
            Assert.True(Interlocked.Read(ref done) <= paid + (4L * Chunk), $"{done} bytes read with {paid} paid for");
            if (limiter.Available < 0)
            {
                clock.Advance(ChunkTime);
                steps++;
            }

            Assert.True(steps <= 64, $"{reads.Count(t => t.IsCompleted)} readers done after {steps} chunks' time");
        }

        await Task.WhenAll(reads);
        Assert.Equal(32L * Chunk, done);
        Assert.Equal(31, steps);
    }

    [Fact]
    public void Zero_or_negative_rates_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ByteRateLimiter(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ByteRateLimiter(-5));
    }
}
