using PgArchive.Support;

namespace PgArchive.IO;

/// <summary>backup-fetch's file writer: the file's writes run behind the reads, and the file holds exactly what was read.</summary>
public sealed class WriteBehindFileCopyTests : IDisposable
{
    private const int Chunk = WriteBehindFileCopy.ChunkSize;
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-writebehind-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(Chunk - 1, false)]
    [InlineData(Chunk, true)]
    [InlineData(Chunk + 1, false)]
    [InlineData(3 * Chunk + 12_345, true)]
    public async Task The_file_holds_exactly_the_source_whatever_its_length_and_however_the_source_splits_its_reads(int length, bool startWriteback)
    {
        var content = Codecs.Data(length, seed: length);
        var path = Path.Combine(_root, "file");
        long written;
        using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.Asynchronous, preallocationSize: length))
        {
            written = await WriteBehindFileCopy.CopyAsync(new UnevenReadStream(content), file, startWriteback, Token);
        }

        Assert.Equal(length, written);
        Assert.Equal(content, await File.ReadAllBytesAsync(path, Token));
    }

    [Fact]
    public async Task A_source_that_fails_mid_file_fails_the_copy_with_its_own_error_once_the_write_in_flight_is_over()
    {
        var path = Path.Combine(_root, "file");
        var source = new UnevenReadStream(Codecs.Data(3 * Chunk, seed: 7), failAfter: 2 * Chunk + 100);
        using var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.Asynchronous);

        var error = await Assert.ThrowsAsync<IOException>(() => WriteBehindFileCopy.CopyAsync(source, file, startWriteback: true, Token));

        Assert.Equal("the source broke", error.Message);
        Assert.Equal(2L * Chunk, RandomAccess.GetLength(file)); // the two whole chunks read before the failure, and nothing torn
    }

    [Fact]
    public void Flushing_a_restored_tree_to_disk_succeeds_and_a_missing_directory_is_a_clear_error()
    {
        Directory.CreateDirectory(Path.Combine(_root, "base", "5"));
        File.WriteAllBytes(Path.Combine(_root, "base", "5", "16384"), Codecs.Data(8192, seed: 1));

        Durability.FlushTree(_root);

        var error = Assert.Throws<IOException>(() => Durability.FlushTree(Path.Combine(_root, "missing")));
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Hands out its bytes in reads of uneven sizes (none a whole chunk), and optionally fails past a point.</summary>
    private sealed class UnevenReadStream(byte[] content, int failAfter = int.MaxValue) : ReadOnlyStream
    {
        private int _position;
        private int _reads;

        public override int Read(Span<byte> buffer)
        {
            if (_position >= failAfter)
            {
                throw new IOException("the source broke");
            }

            var uneven = 1 + (++_reads * 7919 % 100_000);
            var take = Math.Min(Math.Min(buffer.Length, uneven), Math.Min(content.Length, failAfter) - _position);
            content.AsSpan(_position, take).CopyTo(buffer);
            _position += take;
            return take;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}
