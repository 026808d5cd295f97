namespace PgArchive.Backups.Delta;

/// <summary>
/// A set of block numbers of one relation fork, compact for both few and many blocks: the block space is cut into
/// chunks of 65,536 blocks (512 MiB of relation); a chunk holds its blocks as a sorted array of 16-bit offsets while
/// it has at most 4,096 of them (2 bytes a block), then as a bitmap (8 KiB, 1 bit for each of its blocks) — the
/// representation PostgreSQL's own block reference table uses. Not thread-safe.
/// </summary>
internal sealed class BlockSet
{
    private const int ChunkShift = 16;
    private const int ChunkBlocks = 1 << ChunkShift;
    private const int SparseLimit = ChunkBlocks / 16; // beyond this a bitmap (8 KiB) is no larger than the array
    private readonly Dictionary<uint, Chunk> _chunks = [];

    /// <summary>How many distinct blocks the set holds.</summary>
    public long Count { get; private set; }

    /// <summary>Adds <paramref name="block"/>; true when it was not there yet.</summary>
    public bool Add(uint block)
    {
        var key = block >> ChunkShift;
        if (!_chunks.TryGetValue(key, out var chunk))
        {
            chunk = new Chunk();
            _chunks.Add(key, chunk);
        }

        if (!chunk.Add((ushort)block))
        {
            return false;
        }

        Count++;
        return true;
    }

    /// <summary>True when the set holds <paramref name="block"/>.</summary>
    public bool Contains(uint block) => _chunks.TryGetValue(block >> ChunkShift, out var chunk) && chunk.Contains((ushort)block);

    /// <summary>The blocks in [<paramref name="from"/>, <paramref name="to"/>), in ascending order.</summary>
    public IEnumerable<uint> InRange(uint from, uint to)
    {
        if (from >= to || Count == 0)
        {
            yield break;
        }

        for (var key = from >> ChunkShift; key <= (to - 1) >> ChunkShift; key++)
        {
            if (!_chunks.TryGetValue(key, out var chunk))
            {
                continue;
            }

            var first = key << ChunkShift;
            foreach (var offset in chunk.Ascending())
            {
                var block = first + offset;
                if (block >= to)
                {
                    break;
                }

                if (block >= from)
                {
                    yield return block;
                }
            }
        }
    }

    /// <summary>Bytes the set holds for its blocks (arrays and bitmaps, not the object headers).</summary>
    public long PayloadBytes => _chunks.Values.Sum(c => c.PayloadBytes);

    private sealed class Chunk
    {
        private ushort[] _sorted = new ushort[4];
        private int _count;
        private ulong[]? _bits;

        public long PayloadBytes => _bits is null ? _sorted.Length * 2L : _bits.Length * 8L;

        public bool Add(ushort offset)
        {
            if (_bits is not null)
            {
                ref var word = ref _bits[offset >> 6];
                var mask = 1UL << (offset & 63);
                var added = (word & mask) == 0;
                word |= mask;
                return added;
            }

            var at = Array.BinarySearch(_sorted, 0, _count, offset);
            if (at >= 0)
            {
                return false;
            }

            if (_count == SparseLimit)
            {
                _bits = new ulong[ChunkBlocks / 64];
                for (var i = 0; i < _count; i++)
                {
                    _bits[_sorted[i] >> 6] |= 1UL << (_sorted[i] & 63);
                }

                _sorted = [];
                _count = 0;
                return Add(offset);
            }

            at = ~at;
            if (_count == _sorted.Length)
            {
                Array.Resize(ref _sorted, Math.Min(SparseLimit, _sorted.Length * 2));
            }

            Array.Copy(_sorted, at, _sorted, at + 1, _count - at);
            _sorted[at] = offset;
            _count++;
            return true;
        }

        public bool Contains(ushort offset) => _bits is not null
            ? (_bits[offset >> 6] & (1UL << (offset & 63))) != 0
            : Array.BinarySearch(_sorted, 0, _count, offset) >= 0;

        public IEnumerable<uint> Ascending()
        {
            if (_bits is null)
            {
                for (var i = 0; i < _count; i++)
                {
                    yield return _sorted[i];
                }

                yield break;
            }

            for (var w = 0; w < _bits.Length; w++)
            {
                var word = _bits[w];
                while (word != 0)
                {
                    var bit = System.Numerics.BitOperations.TrailingZeroCount(word);
                    yield return (uint)((w << 6) + bit);
                    word &= word - 1;
                }
            }
        }
    }
}
