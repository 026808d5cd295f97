using BenchmarkDotNet.Attributes;
using PgArchive.Wal.Records;

namespace PgArchive.Benchmarks;

/// <summary>
/// What WALG_USE_WAL_DELTA adds to wal-push: parsing one real 16 MiB segment (pgbench -i WAL of PostgreSQL 15) into
/// its block map, and serializing the map. The segment is in memory: the cost measured is the parser's, not the disk's.
/// </summary>
public class WalParseBenchmarks
{
    private byte[] _segment = [];

    [GlobalSetup]
    public void Setup() => _segment = BenchmarkInputs.Load("wal");

    [Benchmark]
    public int ParseSegmentToBlockMap()
    {
        var parse = WalSegmentParser.ParseAsync(new MemoryStream(_segment, writable: false), null, CancellationToken.None).GetAwaiter().GetResult();
        var map = parse.Map ?? throw new InvalidOperationException(parse.Reason);
        return map.ToBytes().Length;
    }
}
