namespace PgArchive.IO;

/// <summary>Compares two streams byte for byte, reading both in step.</summary>
internal static class StreamComparer
{
    public static async Task<bool> EqualAsync(Stream a, Stream b, int bufferSize, CancellationToken cancellationToken)
    {
        var bufferA = new byte[bufferSize];
        var bufferB = new byte[bufferSize];
        while (true)
        {
            var readA = await a.ReadAtLeastAsync(bufferA, bufferSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var readB = await b.ReadAtLeastAsync(bufferB, bufferSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (readA != readB || !bufferA.AsSpan(0, readA).SequenceEqual(bufferB.AsSpan(0, readB)))
            {
                return false;
            }

            if (readA < bufferSize)
            {
                return true;
            }
        }
    }
}
