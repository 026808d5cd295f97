using System.Text;

namespace PgArchive.IO;

public sealed class JsonTokenLimitStreamTests
{
    private const int Limit = 16;

    /// <summary>Reads <paramref name="json"/> through the stage in reads of <paramref name="chunk"/> bytes; the offset of a refused token, or null.</summary>
    private static long? Refused(string json, int chunk = 3)
    {
        using var stage = new JsonTokenLimitStream(new MemoryStream(Encoding.UTF8.GetBytes(json)), Limit, start => new InvalidDataException(start.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var buffer = new byte[chunk];
        try
        {
            while (stage.Read(buffer) > 0)
            {
            }

            return null;
        }
        catch (InvalidDataException ex)
        {
            return long.Parse(ex.Message, System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    [Theory]
    [InlineData("""{"key": "fourteen chars", "n": 123456789012345}""", 1)]
    [InlineData("""{"key": "fourteen chars", "n": 123456789012345}""", 7)]
    [InlineData("""{"esc": "a\"b\\c\"\\d"}""", 2)]
    [InlineData("""["0123456789abcd", "0123456789abcd", 1234567890123456]""", 4)]
    public void Values_up_to_the_limit_pass(string json, int chunk) => Assert.Null(Refused(json, chunk));

    [Theory]
    [InlineData("""{"key": "fifteen chars..."}""", 8)]
    [InlineData("""{"n": 12345678901234567}""", 6)]
    [InlineData("""{"esc": "\"\"\"\"\"\"\"\"\""}""", 8)]
    [InlineData("""{"abcdefghijklmnopq": 1}""", 1)]
    public void A_longer_value_is_refused_where_it_starts(string json, long start)
    {
        Assert.Equal(start, Refused(json, 1));
        Assert.Equal(start, Refused(json, 5));
        Assert.Equal(start, Refused(json, 4096));
    }
}
