using System.IO.Hashing;

namespace PgArchive.Storage;

/// <summary>The stored-bytes check sees the object's end only where the object ends.</summary>
public sealed class ChecksumVerifyingStreamTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_read_into_an_empty_buffer_is_not_the_end_of_the_object()
    {
        // A tar entry's stream passes a read into an empty buffer down once its entry is read: with no compression and
        // no encryption between them, that read reaches this stage (backup-fetch of WALG_COMPRESSION_METHOD=none failed
        // with "it ends after 515 of the ... bytes written (truncated)").
        var data = new byte[10_000];
        new Random(7).NextBytes(data);
        var stream = new ChecksumVerifyingStream(new MemoryStream(data), "k", new StoredChecksum(data.Length, Convert.ToHexStringLower(XxHash128.Hash(data))));
        var buffer = new byte[4096];

        Assert.Equal(4096, await stream.ReadAsync(buffer, Token));
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty, Token));
        Assert.Equal(0, stream.Read([]));
        using var rest = new MemoryStream();
        await stream.CopyToAsync(rest, Token);
        Assert.Equal(data.Length - 4096, rest.Length);
    }

    [Fact]
    public async Task A_real_end_short_of_the_recorded_size_is_still_refused()
    {
        var data = new byte[10_000];
        var stream = new ChecksumVerifyingStream(new MemoryStream(data, 0, 6000), "k", new StoredChecksum(data.Length, Convert.ToHexStringLower(XxHash128.Hash(data))));
        var failure = await Assert.ThrowsAsync<ObjectCorruptException>(() => stream.CopyToAsync(Stream.Null, Token));
        Assert.Contains("it ends after 6000 of the 10000 bytes written (truncated)", failure.Message, StringComparison.Ordinal);
    }
}
