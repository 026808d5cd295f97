namespace PgArchive.Storage;

public sealed class PartBufferPoolTests
{
    [Fact]
    public void Returned_buffers_are_reused_so_the_pool_holds_only_as_many_as_were_in_use_at_once()
    {
        var pool = new PartBufferPool(1024);

        for (var upload = 0; upload < 50; upload++)
        {
            // Two uploads side by side, three parts in flight each, as parallel partitions do.
            var inUse = Enumerable.Range(0, 6).Select(_ => pool.Rent()).ToList();
            Assert.All(inUse, b => Assert.Equal(1024, b.Length));
            Assert.Equal(6, inUse.Distinct().Count());
            inUse.ForEach(pool.Return);
        }

        Assert.Equal(6, pool.Allocated);
    }

    [Fact]
    public void A_buffer_of_another_size_is_refused()
    {
        var pool = new PartBufferPool(1024);

        Assert.Throws<ArgumentException>(() => pool.Return(new byte[512]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PartBufferPool(0));
    }
}
