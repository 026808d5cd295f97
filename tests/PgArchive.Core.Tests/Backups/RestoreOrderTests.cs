using PgArchive.Storage;

namespace PgArchive.Backups;

public sealed class RestoreOrderTests
{
    private const string Backup = "base_000000010000000000000002";

    [Fact]
    public void Partitions_restore_largest_stored_first_and_pg_control_stays_out_of_the_parallel_part()
    {
        var files = new FilesMetadata { TarChecksums = new(StringComparer.Ordinal) };
        var partitions = new List<Partition>();
        foreach (var (name, size) in new[] { ("part_001.tar.lz4", 10L), ("part_002.tar.lz4", 70), ("part_003.tar.lz4", 250), ("part_004.tar.lz4", 70), ("pg_control.tar.lz4", 300) })
        {
            files.TarChecksums[name] = new StoredChecksum(size, "00");
            partitions.Add(new Partition(ArchiveLayout.TarPartitionsPrefix(Backup) + name, Backup, files, null));
        }

        var order = BackupFetcher.LargestFirst(partitions).Select(p => p.Key[ArchiveLayout.TarPartitionsPrefix(Backup).Length..]);

        // Equal sizes keep their numbered order; pg_control is extracted last, alone, by the caller.
        Assert.Equal(["part_003.tar.lz4", "part_002.tar.lz4", "part_004.tar.lz4", "part_001.tar.lz4"], order);
    }

    [Fact]
    public void Partitions_of_a_backup_that_recorded_no_sizes_keep_their_numbered_order()
    {
        var partitions = new[] { "part_001.tar.lz4", "part_002.tar.lz4", "part_003.tar.lz4", "pg_control.tar.lz4" }
            .Select(name => new Partition(ArchiveLayout.TarPartitionsPrefix(Backup) + name, Backup, new FilesMetadata(), null)).ToList();

        Assert.Equal(partitions.Take(3), BackupFetcher.LargestFirst(partitions));
    }
}
