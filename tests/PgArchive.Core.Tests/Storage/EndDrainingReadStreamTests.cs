using System.Security.Cryptography;
using PgArchive.IO;

namespace PgArchive.Storage;

/// <summary>
/// The decoded-content stage of <see cref="ObjectCodec.Decode"/>: a decoder that stops before the stored bytes end
/// still has them checked before its reader sees the end; a decoding error gives way to the stored bytes' own failure.
/// </summary>
public sealed class EndDrainingReadStreamTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static AuthenticatingReadStream Stored(byte[] bytes, byte[] recordedSha256) =>
        new(new MemoryStream(bytes), "wal_005/x", (bytes.Length, recordedSha256));

    [Fact]
    public async Task The_end_of_content_waits_for_the_stored_bytes_to_be_checked()
    {
        var bytes = RandomNumberGenerator.GetBytes(100_000);
        var stored = Stored(bytes, SHA256.HashData(RandomNumberGenerator.GetBytes(10)));
        await using var content = new EndDrainingReadStream(new MemoryStream([1, 2, 3]), stored); // a decoder done after 3 bytes

        var ex = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => content.CopyToAsync(Stream.Null, Token));
        Assert.Equal(AuthenticationFailure.ContentDiffers, ex.Failure);
        Assert.Throws<ObjectNotAuthenticatedException>(() => new EndDrainingReadStream(new MemoryStream([1]), Stored(bytes, new byte[32])).CopyTo(Stream.Null));
    }

    [Fact]
    public async Task Authentic_stored_bytes_end_the_content_normally()
    {
        var bytes = RandomNumberGenerator.GetBytes(100_000);
        await using var content = new EndDrainingReadStream(new MemoryStream([1, 2, 3]), Stored(bytes, SHA256.HashData(bytes)));
        using var copy = new MemoryStream();

        await content.CopyToAsync(copy, Token);

        Assert.Equal([1, 2, 3], copy.ToArray());
    }

    [Fact]
    public async Task A_decoding_error_stands_when_the_stored_bytes_are_authentic()
    {
        var bytes = RandomNumberGenerator.GetBytes(1_000);
        await using var content = new EndDrainingReadStream(new FailingStream(), Stored(bytes, SHA256.HashData(bytes)));

        await Assert.ThrowsAsync<InvalidDataException>(() => content.CopyToAsync(Stream.Null, Token));
    }

    private sealed class FailingStream : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer) => throw new InvalidDataException("bad frame");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => throw new InvalidDataException("bad frame");
    }
}
