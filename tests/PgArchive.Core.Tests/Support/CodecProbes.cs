namespace PgArchive.Support;

/// <summary>
/// The checks the codec conformance suites share, for any pair of streams: <c>encode</c> makes a write-only stream into
/// the sink it is given (leaving it open), <c>decode</c> a read-only stream of what the source it is given holds.
/// </summary>
internal static class CodecProbes
{
    /// <summary>How much the streaming checks push through: far more than any codec's window or block.</summary>
    public const int StreamedLength = 64 << 20;

    /// <summary>
    /// What the streaming checks compare with: more than a codec's window (LZMA's 8 MiB dictionary), so what a codec
    /// allocates for it is its fixed cost.
    /// </summary>
    public const int SmallLength = 16 << 20;

    /// <summary>How much more than for <see cref="SmallLength"/> a codec may allocate for <see cref="StreamedLength"/>: far less than the data.</summary>
    public const long GrowthBudget = 4 << 20;

    /// <summary>Sizes around the blocks codecs and their callers use (4 and 8 KiB pages, 64 KiB, 256 KiB and 1 MiB blocks).</summary>
    public static readonly int[] Sizes =
        [0, 1, 2, 4095, 4096, 4097, 8191, 8192, 8193, 65_535, 65_536, 65_537, 262_143, 262_144, 262_145, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3_000_017];

    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(60);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>
    /// Fails unless <paramref name="large"/> (bytes allocated for <see cref="StreamedLength"/>) stays under
    /// <paramref name="budget"/> and exceeds <paramref name="small"/> (for <see cref="SmallLength"/>) by less than
    /// <paramref name="growthBudget"/>: memory that does not grow with the data.
    /// </summary>
    public static void AssertBounded(string what, long small, long large, long budget, long growthBudget = GrowthBudget)
    {
        Assert.True(large < budget, $"{what} 64 MiB allocated {large:N0} bytes, over the {budget:N0} budget");
        Assert.True(large - small < growthBudget, $"{what} 64 MiB allocated {large:N0} bytes, 16 MiB {small:N0}: it grows with the data");
    }

    /// <summary>Encodes and decodes data of each size (the async or the sync stream calls), failing on the first that comes back changed.</summary>
    public static async Task AssertRoundTripsAsync(Func<Stream, Stream> encode, Func<Stream, Stream> decode, IEnumerable<int> sizes, bool asynchronous = true)
    {
        foreach (var size in sizes)
        {
            var data = Codecs.Data(size, seed: size);
            var stored = await Codecs.EncodeAsync(encode, data, asynchronous);
            Assert.True(Codecs.Same(data, await Codecs.DecodeAsync(decode, stored, asynchronous)), $"{size} bytes came back changed");
        }
    }

    /// <summary>
    /// Round-trips <see cref="SmallLength"/> and <see cref="StreamedLength"/> bytes and checks both directions with
    /// <see cref="AssertBounded"/>, allowing <paramref name="churn"/> bytes allocated per byte on top (a library's known cost).
    /// </summary>
    public static void AssertRoundTripStreams(Func<Stream, Stream> encode, Func<Stream, Stream> decode, (string Encoding, string Decoding) what,
        long budget, (double Encoding, double Decoding) churn = default)
    {
        var small = AllocatedByRoundTrip(encode, decode, SmallLength);
        var large = AllocatedByRoundTrip(encode, decode, StreamedLength);

        Check(what.Encoding, small.Encoding, large.Encoding, churn.Encoding);
        Check(what.Decoding, small.Decoding, large.Decoding, churn.Decoding);

        void Check(string direction, long smallAllocated, long largeAllocated, double perByte)
        {
            var extra = (long)(perByte * StreamedLength);
            AssertBounded(direction, smallAllocated, largeAllocated, budget + extra, GrowthBudget + extra);
        }
    }

    /// <summary>
    /// Decodes a damaged object (<paramref name="what"/> tells how): a method that detects such damage must fail with
    /// <see cref="InvalidDataException"/> (or <see cref="EndOfStreamException"/>, for a cut), which every caller reports as
    /// a corrupt object; one that cannot must still come to an end, with content that is not the original.
    /// </summary>
    public static async Task AssertDamageHandledAsync(Func<Stream, Stream> decode, byte[] damaged, byte[] original, bool detects, string what)
    {
        var decoding = DecodeWithoutHangingAsync(decode, damaged);
        if (detects)
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => decoding);
            Assert.True(ex is InvalidDataException or EndOfStreamException, $"{what}: {ex.GetType()}: {ex.Message}");
        }
        else
        {
            Assert.False(Codecs.Same(original, await decoding), $"{what}: decoded to the original content");
        }
    }

    /// <summary>Decodes <paramref name="stored"/>, failing the test if decoding does not end (a hang) rather than waiting forever.</summary>
    public static Task<byte[]> DecodeWithoutHangingAsync(Func<Stream, Stream> decode, byte[] stored) =>
        Task.Run(() => Codecs.DecodeAsync(decode, stored), Token).WaitAsync(HangLimit, Token);

    /// <summary>
    /// Writes into a sink that never answers and cancels: the write must end in <see cref="OperationCanceledException"/>
    /// because the token reached the sink, not in <see cref="StallingStream"/>'s <see cref="TimeoutException"/>.
    /// </summary>
    public static async Task AssertAsyncWriteHonoursCancellationAsync(Func<Stream, Stream> encode)
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var chunk = Codecs.Data(1 << 16, seed: 5);
        var writing = Task.Run(async () =>
        {
            var stream = encode(new StallingStream(readable: false));
            for (var i = 0; i < 1024; i++)
            {
                await stream.WriteAsync(chunk, cancellation.Token);
            }

            await stream.FlushAsync(cancellation.Token);
        }, Token);
        cancellation.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writing.WaitAsync(StallingStream.Patience * 2, Token));
    }

    /// <summary>Reads from a source that never answers and cancels: the read must end in <see cref="OperationCanceledException"/>.</summary>
    public static async Task AssertAsyncReadHonoursCancellationAsync(Func<Stream, Stream> decode)
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var reading = Task.Run(async () =>
        {
            await using var stream = decode(new StallingStream(readable: true));
            _ = await stream.ReadAsync(new byte[4096], cancellation.Token);
        }, Token);
        cancellation.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WaitAsync(StallingStream.Patience * 2, Token));
    }

    /// <summary>
    /// Encodes <paramref name="length"/> bytes of page-like data, then decodes them, checking every byte; returns the
    /// bytes this thread allocated meanwhile, buffers for the stored copy and the data excluded. Synchronous on purpose:
    /// a codec's work then happens on this thread, where <see cref="GC.GetAllocatedBytesForCurrentThread"/> sees it.
    /// </summary>
    public static (long Encoding, long Decoding) AllocatedByRoundTrip(Func<Stream, Stream> encode, Func<Stream, Stream> decode, int length)
    {
        var stored = new MemoryStream(length + (length / 8) + (1 << 20));
        var buffer = new byte[1 << 16];
        var expected = new byte[buffer.Length];
        var before = GC.GetAllocatedBytesForCurrentThread();
        using (var encoding = encode(stored))
        {
            for (var offset = 0; offset < length; offset += buffer.Length)
            {
                var piece = buffer.AsSpan(0, Math.Min(buffer.Length, length - offset));
                PageData(offset, piece);
                encoding.Write(piece);
            }
        }

        var encoded = GC.GetAllocatedBytesForCurrentThread() - before;
        var source = new MemoryStream(stored.GetBuffer(), 0, (int)stored.Length, writable: false);
        return (encoded, AllocatedByDecoding(decode, source, length, buffer, expected));
    }

    /// <summary>Decodes <paramref name="stored"/> (<see cref="PageData(int)"/> of <paramref name="length"/> bytes, encoded), checking every byte; returns what this thread allocated.</summary>
    public static long AllocatedByDecoding(Func<Stream, Stream> decode, byte[] stored, int length) =>
        AllocatedByDecoding(decode, new MemoryStream(stored, writable: false), length, new byte[1 << 16], new byte[1 << 16]);

    /// <summary>The data the streaming checks push through, as one array (for an external tool to encode).</summary>
    public static byte[] PageData(int length)
    {
        var data = new byte[length];
        PageData(0, data);
        return data;
    }

    /// <summary>
    /// WAL-like content, a function of the position alone: each 8 KiB page starts with 64 bytes of noise, the rest is
    /// mostly zeros, so it compresses well and any codec gets through 64 MiB of it quickly.
    /// </summary>
    private static void PageData(long offset, Span<byte> into)
    {
        for (var i = 0; i < into.Length; i++)
        {
            var position = offset + i;
            var page = position % 8192;
            into[i] = page < 64 ? (byte)((ulong)position * 0x9E3779B97F4A7C15UL >> 56) : (byte)(page % 251 == 0 ? 7 : 0);
        }
    }

    private static long AllocatedByDecoding(Func<Stream, Stream> decode, Stream source, int length, byte[] buffer, byte[] expected)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        long offset = 0;
        using (var decoding = decode(source))
        {
            int read;
            while ((read = decoding.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
            {
                PageData(offset, expected.AsSpan(0, read));
                if (!buffer.AsSpan(0, read).SequenceEqual(expected.AsSpan(0, read)))
                {
                    Assert.Fail($"Decoded content differs from what was encoded within bytes {offset}..{offset + read}.");
                }

                offset += read;
            }
        }

        Assert.Equal(length, offset);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
