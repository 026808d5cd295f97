using System.Formats.Tar;
using PgArchive.IO;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

public sealed class TarHeaderGuardStreamTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Every entry the tar reader finds through the guard: name and content length read.</summary>
    private static async Task<List<(string Name, long Read)>> ReadAllAsync(Stream tar)
    {
        var entries = new List<(string, long)>();
        await using var reader = new TarReader(TarHeaderGuardStream.Wrap(tar, "basebackups_005/b/tar_partitions/part_001.tar"));
        while (await reader.GetNextEntryAsync(copyData: false, Token) is { } entry)
        {
            var read = 0L;
            var buffer = new byte[1 << 16];
            int n;
            while (entry.DataStream is { } data && (n = await data.ReadAsync(buffer, Token)) > 0)
            {
                read += n;
            }

            entries.Add((entry.Name, read));
        }

        return entries;
    }

    [Fact]
    public async Task A_PAX_size_record_is_followed_to_the_next_header()
    {
        // The file's ustar size says 0 and its PAX record 1536: its content starts with what looks like a 700 MB PAX header,
        // which a guard that framed by the ustar size would take for the next header.
        var record = CraftedTar.PaxRecord("size", "1536");
        byte[] content = [.. CraftedTar.Header("decoy", 'x', 700_000_000), .. new byte[1024]];
        var tar = CraftedTar.Of([CraftedTar.Header("PaxHeaders/big", 'x', record.Length), record, CraftedTar.Padding(record.Length),
            CraftedTar.Header("big", '0', 0), content, .. CraftedTar.File("after", [1, 2, 3])]);

        var entries = await ReadAllAsync(tar);

        Assert.Equal([("big", 1536L), ("after", 3L)], entries);
    }

    [Fact]
    public async Task A_header_that_arrives_a_byte_at_a_time_is_still_refused()
    {
        var tar = new OneByteAtATimeStream(CraftedTar.WithExtendedHeader('L', 2 << 20));

        var ex = await Assert.ThrowsAsync<ObjectCorruptException>(() => ReadAllAsync(tar));

        Assert.Contains("the tar header at byte 0 announces a 2 MiB GNU long name ('L'), more than the 1 MiB", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Files_and_extended_headers_within_the_limit_pass_unchanged()
    {
        var big = new byte[3 << 20];
        var longName = new string('d', 300) + "/file";
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "big") { DataStream = new MemoryStream(big) }, Token);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, longName) { DataStream = new MemoryStream([7]) }, Token);
        }

        tar.Position = 0;
        var entries = await ReadAllAsync(tar);

        Assert.Equal([("big", (long)big.Length), (longName, 1L)], entries);
    }

    private sealed class OneByteAtATimeStream(Stream inner) : ReadOnlyWrapperStream(inner)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 1)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 1)], cancellationToken);
    }
}
