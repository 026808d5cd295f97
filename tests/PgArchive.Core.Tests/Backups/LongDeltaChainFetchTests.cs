using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.Backups.Delta;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// backup-fetch of a chain of ten deltas on a full backup, built here over the in-memory store (no PostgreSQL), each
/// backup in two data partitions restored side by side: relation files changed page by page and grown (one larger
/// than a write chunk), one truncated to fewer pages and then to nothing and grown again, one dropped and recreated
/// under its name, one dropped for good, one created late, a non-relation file rewritten. Every mode restores
/// exactly the last backup's files, byte for byte, and nothing else.
/// </summary>
public sealed class LongDeltaChainFetchTests : IDisposable
{
    private const int Page = 8192;
    private const int Deltas = 10;
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-long-chain-").FullName;
    private readonly PutRecordingStore _store = new(new InMemoryObjectStore());
    private readonly ServiceProvider _services;
    private readonly Random _random = new(22);

    public LongDeltaChainFetchTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IObjectStore>(_store);
        services.AddPgArchive(o => o.DownloadConcurrency = 3);
        _services = services.BuildServiceProvider();
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>The name of backup <paramref name="step"/> of the chain (0: the full backup).</summary>
    private static string Name(int step) =>
        step == 0 ? $"base_{Segment(0)}" : $"base_{Segment(step)}_D_{Segment(step - 1)}";

    private static string Segment(int step) => $"0000000100000000{step + 4:X8}";

    private static ulong Lsn(int step) => ((ulong)(step + 4) << 24) + 0x28;

    private byte[] RandomPages(int pages)
    {
        var bytes = new byte[pages * Page];
        _random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>The data directory as it is at each backup of the chain: relative path → content.</summary>
    private Dictionary<string, byte[]>[] States()
    {
        var state = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["PG_VERSION"] = "15\n"u8.ToArray(),
            ["base/5/16384"] = RandomPages(300), // more than one write chunk (128 pages)
            ["base/5/16384.1"] = RandomPages(20),
            ["base/5/16390"] = RandomPages(40), // truncated, emptied, grown again
            ["base/5/16391"] = RandomPages(12), // dropped, then recreated under its name
            ["base/5/16392"] = RandomPages(6), // dropped for good
            ["base/5/16393_vm"] = RandomPages(1), // not a relation segment: stored whole when it changes
        };
        var states = new Dictionary<string, byte[]>[Deltas + 1];
        states[0] = new(state, StringComparer.Ordinal);
        for (var step = 1; step <= Deltas; step++)
        {
            // a few runs of changed pages in the large file, and a page or two more
            var large = state["base/5/16384"];
            for (var run = 0; run < 3; run++)
            {
                var at = _random.Next(large.Length / Page);
                _random.NextBytes(large.AsSpan(at * Page, Math.Min(_random.Next(1, 20), (large.Length / Page) - at) * Page));
            }

            state["base/5/16384"] = [.. large, .. RandomPages(step % 3)];
            _random.NextBytes(state["base/5/16384.1"].AsSpan(_random.Next(20) * Page, Page));
            state["base/5/16393_vm"] = step % 4 == 0 ? RandomPages(1) : state["base/5/16393_vm"];
            switch (step)
            {
                case 2:
                    state["base/5/16390"] = state["base/5/16390"][..(10 * Page)]; // truncated
                    break;
                case 4:
                    state.Remove("base/5/16391");
                    state["base/5/16390"] = []; // emptied
                    break;
                case 5:
                    state.Remove("base/5/16392");
                    break;
                case 6:
                    state["base/5/16390"] = RandomPages(3); // grown from nothing
                    break;
                case 7:
                    state["base/5/16391"] = RandomPages(5); // recreated, shorter
                    break;
                case 8 or 9:
                    state["base/5/16391"] = [.. state["base/5/16391"], .. RandomPages(2)];
                    _random.NextBytes(state["base/5/16391"].AsSpan(Page, Page));
                    break;
                case 10:
                    state["base/5/16600"] = RandomPages(4); // created in the last delta
                    break;
                default:
                    break;
            }

            states[step] = state.ToDictionary(f => f.Key, f => (byte[])f.Value.Clone(), StringComparer.Ordinal);
        }

        return states;
    }

    /// <summary>
    /// Stores the chain as backup-push writes it: the full backup whole; each delta with a relation file that was in its
    /// base as a page increment (the pages that differ and those past the base's end), a file unchanged as skipped, and
    /// a new, recreated or non-relation file whole.
    /// </summary>
    private async Task StoreChainAsync(Dictionary<string, byte[]>[] states)
    {
        var codec = _services.GetRequiredService<ObjectCodec>();
        for (var step = 0; step <= Deltas; step++)
        {
            var incremented = new HashSet<string>(StringComparer.Ordinal);
            var skipped = new HashSet<string>(StringComparer.Ordinal);
            var members = new List<TarMember>();
            foreach (var (path, content) in states[step].OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                var before = step == 0 ? null : states[step - 1].GetValueOrDefault(path);
                if (before is not null && before.AsSpan().SequenceEqual(content))
                {
                    skipped.Add(path);
                }
                else if (before is { Length: > 0 } && PageIncrement.IsPagedFile(path, content.Length))
                {
                    incremented.Add(path);
                    members.Add(TarMember.File("/" + path, Increment(before, content)));
                }
                else
                {
                    members.Add(TarMember.File("/" + path, content));
                }
            }

            var pgControl = new byte[Page];
            pgControl[0] = (byte)step;
            (string, TarMember[])[] partitions =
            [
                ("part_001.tar", [TarMember.Directory("/base"), TarMember.Directory("/base/5"), .. members.Where((_, i) => i % 2 == 0)]),
                ("part_002.tar", [.. members.Where((_, i) => i % 2 == 1)]),
                ("backup_label.tar", [TarMember.File("backup_label", System.Text.Encoding.ASCII.GetBytes($"START WAL LOCATION: 0/{Lsn(step):X} (step {step})\n"))]),
                ("pg_control.tar", [TarMember.File("/global/pg_control", pgControl)]),
            ];
            var current = step;
            await SyntheticBackup.StoreAsync(_store, codec, Name(step), partitions,
                files =>
                {
                    foreach (var path in incremented)
                    {
                        files.Files["/" + path].IsIncremented = true;
                    }

                    foreach (var path in skipped)
                    {
                        files.Files["/" + path] = new BackupFileDescription { IsSkipped = true };
                    }
                },
                sentinel: sentinel =>
                {
                    sentinel.Lsn = Lsn(current);
                    sentinel.FinishLsn = Lsn(current) + 0x200;
                    if (current > 0)
                    {
                        sentinel.DeltaFrom = Name(current - 1);
                        sentinel.DeltaFullName = Name(0);
                        sentinel.DeltaCount = current;
                        sentinel.DeltaLsn = Lsn(current - 1);
                    }
                });
        }
    }

    /// <summary>WAL-G's increment of <paramref name="after"/> over <paramref name="before"/>: the pages that differ or are new.</summary>
    private static byte[] Increment(byte[] before, byte[] after)
    {
        var blocks = Enumerable.Range(0, after.Length / Page)
            .Where(b => (b + 1) * Page > before.Length || !before.AsSpan(b * Page, Page).SequenceEqual(after.AsSpan(b * Page, Page)))
            .Select(b => (uint)b).ToList();
        var increment = new byte[PageIncrement.SizeOf(blocks.Count)];
        PageIncrement.WriteHeader(increment, (ulong)after.Length, blocks);
        var at = PageIncrement.FixedHeaderSize + (4 * blocks.Count);
        foreach (var block in blocks)
        {
            after.AsSpan((int)block * Page, Page).CopyTo(increment.AsSpan(at));
            at += Page;
        }

        return increment;
    }

    /// <summary>Restores the last backup of the chain: in the default order (<paramref name="reverse"/> null) or the one given.</summary>
    private async Task<string> FetchAsync(bool? reverse, bool skipRedundantTars = false)
    {
        var target = Path.Combine(_root, "restored");
        var request = reverse is { } newestFirst
            ? new BackupFetchRequest { TargetDirectory = target, BackupName = Name(Deltas), ReverseUnpack = newestFirst, SkipRedundantTars = skipRedundantTars }
            : new BackupFetchRequest { TargetDirectory = target, BackupName = Name(Deltas) };
        await _services.GetRequiredService<BackupFetcher>().FetchAsync(request, Token);
        return target;
    }

    private static void AssertRestored(Dictionary<string, byte[]> expected, string target)
    {
        var restored = Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(target, f)).Where(f => f is not ("backup_label" or "global/pg_control")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), restored);
        foreach (var (path, content) in expected)
        {
            var actual = File.ReadAllBytes(Path.Combine(target, path));
            Assert.True(content.AsSpan().SequenceEqual(actual), $"{path}: {actual.Length} bytes restored, {content.Length} expected, or different bytes");
        }

        Assert.Equal(Deltas, File.ReadAllBytes(Path.Combine(target, "global", "pg_control"))[0]);
        Assert.Contains($"(step {Deltas})", File.ReadAllText(Path.Combine(target, "backup_label")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("default")]
    [InlineData("forward")]
    [InlineData("reverse")]
    [InlineData("reverse, skipping redundant tars")]
    public async Task Ten_delta_chain_restores_the_last_backup_byte_for_byte(string mode)
    {
        var states = States();
        await StoreChainAsync(states);

        var target = await (mode switch
        {
            "forward" => FetchAsync(reverse: false),
            "reverse" => FetchAsync(reverse: true),
            "reverse, skipping redundant tars" => FetchAsync(reverse: true, skipRedundantTars: true),
            _ => FetchAsync(reverse: null),
        });

        AssertRestored(states[Deltas], target);
    }

    [Fact]
    public async Task A_delta_chain_restores_newest_backup_first_by_default()
    {
        await StoreChainAsync(States());

        await FetchAsync(reverse: null);

        var partitionsRead = _store.Opens.Where(key => key.Contains("/tar_partitions/part_", StringComparison.Ordinal)).ToList();
        Assert.StartsWith(ArchiveLayout.TarPartitionsPrefix(Name(Deltas)), partitionsRead[0], StringComparison.Ordinal);
        Assert.StartsWith(ArchiveLayout.TarPartitionsPrefix(Name(0)), partitionsRead[^1], StringComparison.Ordinal);
    }
}
