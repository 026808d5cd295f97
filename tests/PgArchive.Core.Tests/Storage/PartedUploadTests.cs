using System.Collections.Concurrent;
using PgArchive.Support;

namespace PgArchive.Storage;

/// <summary>The part-upload loop S3 and Swift share: parts in order, memory bounded, and a failure undone once the parts in flight are over.</summary>
public sealed class PartedUploadTests
{
    private const int PartSize = 1024;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 10 * PartSize)]
    [InlineData(3, 10 * PartSize + 17)]
    public async Task Parts_are_completed_in_order_with_their_bytes_and_at_most_the_given_number_are_in_memory_at_once(int inFlight, int rest)
    {
        var content = Codecs.Data(PartSize + rest, seed: rest);
        var stream = new MemoryStream(content);
        var first = new byte[PartSize];
        await stream.ReadExactlyAsync(first, Token);
        var pool = new PartBufferPool(PartSize);
        var running = 0;
        var mostRunning = 0;
        byte[]? stored = null;
        var upload = new PartedUpload<(int Index, byte[] Bytes)>
        {
            Buffers = pool,
            MaxPartsInFlight = inFlight,
            MaxParts = 100,
            TooLarge = () => new InvalidOperationException("too large"),
            UploadPartAsync = async (index, buffer, length, token) =>
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref mostRunning, now);
                await Task.Delay(index % 3, token); // parts finish out of order
                var bytes = buffer.AsSpan(0, length).ToArray();
                Interlocked.Decrement(ref running);
                return (index, bytes);
            },
            CompleteAsync = (parts, _) =>
            {
                Assert.Equal(Enumerable.Range(0, parts.Length), parts.Select(p => p.Index));
                stored = parts.SelectMany(p => p.Bytes).ToArray();
                return Task.CompletedTask;
            },
            CleanUpAsync = _ => throw new InvalidOperationException("nothing failed"),
        };

        var (total, parts) = await upload.RunAsync(first, stream, Token);

        Assert.Equal(content.Length, total);
        Assert.Equal(content, stored);
        Assert.Equal(Enumerable.Range(0, parts.Length), parts.Select(p => p.Index));
        Assert.InRange(mostRunning, 1, inFlight);
        Assert.InRange(pool.Allocated, 0, inFlight - 1); // the first buffer is the caller's
    }

    [Fact]
    public async Task A_failed_part_is_the_error_reported_and_the_upload_is_cleaned_up_after_the_parts_in_flight_with_those_confirmed()
    {
        var stream = new MemoryStream(Codecs.Data(20 * PartSize, seed: 3));
        var first = new byte[PartSize];
        await stream.ReadExactlyAsync(first, Token);
        var finished = new ConcurrentBag<int>();
        var release = new TaskCompletionSource();
        IReadOnlyList<int>? cleanedUp = null;
        var finishedAtCleanUp = -1;
        var upload = new PartedUpload<int>
        {
            Buffers = new PartBufferPool(PartSize),
            MaxPartsInFlight = 3,
            MaxParts = 100,
            TooLarge = () => new InvalidOperationException("too large"),
            UploadPartAsync = async (index, _, _, token) =>
            {
                switch (index)
                {
                    case 0:
                        break;
                    case 1:
                        await release.Task.WaitAsync(token); // still in flight when part 2 fails,
                        await Task.Delay(100, token); // and for a while after the loop has stopped
                        break;
                    default:
                        release.TrySetResult();
                        throw new IOException($"part {index} was refused");
                }

                finished.Add(index);
                return index;
            },
            CompleteAsync = (_, _) => throw new InvalidOperationException("a failed upload must not be completed"),
            CleanUpAsync = confirmed =>
            {
                cleanedUp = confirmed;
                finishedAtCleanUp = finished.Count;
                return Task.CompletedTask;
            },
        };

        var error = await Assert.ThrowsAsync<IOException>(() => upload.RunAsync(first, stream, Token));

        Assert.Equal("part 2 was refused", error.Message);
        Assert.Equal([0, 1], cleanedUp!.Order());
        Assert.Equal(2, finishedAtCleanUp);
    }

    [Fact]
    public async Task Content_beyond_the_most_parts_fails_with_the_stores_error_and_is_cleaned_up()
    {
        var stream = new MemoryStream(Codecs.Data(5 * PartSize, seed: 4));
        var first = new byte[PartSize];
        await stream.ReadExactlyAsync(first, Token);
        var cleanedUp = false;
        var upload = new PartedUpload<int>
        {
            Buffers = new PartBufferPool(PartSize),
            MaxPartsInFlight = 2,
            MaxParts = 3,
            TooLarge = () => new ObjectStoreException(ObjectStoreErrorKind.Other, "big", "'big' is larger than 3 parts"),
            UploadPartAsync = (index, _, _, _) => Task.FromResult(index),
            CompleteAsync = (_, _) => throw new InvalidOperationException("too large to complete"),
            CleanUpAsync = _ =>
            {
                cleanedUp = true;
                return Task.CompletedTask;
            },
        };

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => upload.RunAsync(first, stream, Token));

        Assert.Contains("larger than 3 parts", error.Message, StringComparison.Ordinal);
        Assert.True(cleanedUp);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
