using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.Compression;
using PgArchive.Encryption;

namespace PgArchive.Support;

/// <summary>Helpers shared by the codec tests: test data, and whole-buffer encode/decode through a codec's streams.</summary>
internal static class Codecs
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>The compressors and read-only decompressors <c>AddPgArchive</c> registers, as a service provider sees them.</summary>
    public static IReadOnlyList<IDecompressor> Registered { get; } = BuiltIn();

    /// <summary>A registered compressor, by method name.</summary>
    public static ICompressor Compressor(string method) =>
        Registered.OfType<ICompressor>().SingleOrDefault(c => c.Method == method) ?? throw new ArgumentOutOfRangeException(nameof(method), method, null);

    private static IReadOnlyList<IDecompressor> BuiltIn()
    {
        using var provider = new ServiceCollection().AddPgArchive().UseInMemory().Services.BuildServiceProvider();
        return [.. provider.GetServices<ICompressor>(), .. provider.GetServices<IDecompressor>()];
    }

    /// <summary>Data that exercises a codec's both paths: the first half random, the rest a repeating page-like pattern.</summary>
    public static byte[] Data(int length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data.AsSpan(0, length / 2));
        for (var i = length / 2; i < length; i++)
        {
            data[i] = (byte)(i % 8192 < 64 ? i : i % 251 == 0 ? 7 : 0);
        }

        return data;
    }

    /// <summary>Byte-wise equality without xunit printing megabytes on failure.</summary>
    public static bool Same(byte[] expected, byte[] actual) => expected.AsSpan().SequenceEqual(actual);

    public static byte[] RandomKey() => RandomNumberGenerator.GetBytes(32);

    public static Task<byte[]> CompressAsync(ICompressor compressor, byte[] data, bool asynchronous = true) =>
        EncodeAsync(sink => compressor.CreateCompressionStream(sink, leaveOpen: true), data, asynchronous);

    public static Task<byte[]> DecompressAsync(IDecompressor compressor, byte[] stored, bool asynchronous = true) =>
        DecodeAsync(source => compressor.CreateDecompressionStream(source), stored, asynchronous);

    public static Task<byte[]> EncryptAsync(IEncryptor encryptor, byte[] data, bool asynchronous = true) =>
        EncodeAsync(sink => encryptor.CreateEncryptionStream(sink, leaveOpen: true), data, asynchronous);

    public static Task<byte[]> DecryptAsync(IEncryptor encryptor, byte[] stored, bool asynchronous = true) =>
        DecodeAsync(source => encryptor.CreateDecryptionStream(source), stored, asynchronous);

    /// <summary>What <paramref name="encode"/> (a stream writing into the sink it is given, leaving it open) stores for <paramref name="data"/>.</summary>
    public static async Task<byte[]> EncodeAsync(Func<Stream, Stream> encode, byte[] data, bool asynchronous = true)
    {
        using var stored = new MemoryStream();
        await WriteAsync(encode(stored), data, asynchronous);
        return stored.ToArray();
    }

    /// <summary>What <paramref name="decode"/> (a stream reading the source it is given) reads out of <paramref name="stored"/>, handed out as a store would.</summary>
    public static async Task<byte[]> DecodeAsync(Func<Stream, Stream> decode, byte[] stored, bool asynchronous = true) =>
        await ReadAllAsync(decode(new UnseekableMemory(stored)), asynchronous);

    /// <summary>Writes in uneven pieces (1, 7, 8192, ...), so chunking does not depend on the caller's buffer size; then disposes the stream.</summary>
    public static async Task WriteAsync(Stream stream, byte[] data, bool asynchronous)
    {
        int[] pieces = [1, 7, 8192, 8191, 100_000, 3];
        var offset = 0;
        for (var i = 0; offset < data.Length; i++)
        {
            var count = Math.Min(pieces[i % pieces.Length], data.Length - offset);
            if (asynchronous)
            {
                await stream.WriteAsync(data.AsMemory(offset, count), Token);
            }
            else
            {
                stream.Write(data, offset, count);
            }

            offset += count;
        }

        if (asynchronous)
        {
            await stream.DisposeAsync();
        }
        else
        {
            stream.Dispose();
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, bool asynchronous)
    {
        using var result = new MemoryStream();
        if (asynchronous)
        {
            await using (stream)
            {
                await stream.CopyToAsync(result, 81_920, Token);
            }
        }
        else
        {
            using (stream)
            {
                stream.CopyTo(result, 4096);
            }
        }

        return result.ToArray();
    }
}

/// <summary>A stored object as a store hands it out: readable once, forward only, no length.</summary>
internal sealed class UnseekableMemory(byte[] bytes) : Stream
{
    private readonly MemoryStream _inner = new(bytes, writable: false);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => _inner.Read(buffer);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
