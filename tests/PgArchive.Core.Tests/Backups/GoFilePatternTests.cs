namespace PgArchive.Backups;

/// <summary>
/// backup-fetch --mask reads patterns as WAL-G does, through Go's filepath.Match: the cases of Go's own
/// <c>src/path/match_test.go</c> (matchTests, Go 1.16 and later, where a malformed pattern is an error even when the
/// name does not match), plus how WAL-G applies a mask (<c>utility.SelectMatchingFiles</c>: <c>/</c> + the mask against
/// <c>/</c> + the path).
/// </summary>
public sealed class GoFilePatternTests
{
    public static TheoryData<string, string, bool> Matches() => new()
    {
        { "abc", "abc", true }, { "*", "abc", true }, { "*c", "abc", true }, { "a*", "a", true }, { "a*", "abc", true }, { "a*", "ab/c", false },
        { "a*/b", "abc/b", true }, { "a*/b", "a/c/b", false }, { "a*b*c*d*e*/f", "axbxcxdxe/f", true }, { "a*b*c*d*e*/f", "axbxcxdxexxx/f", true },
        { "a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false }, { "a*b*c*d*e*/f", "axbxcxdxexxx/fff", false }, { "a*b?c*x", "abxbbxdbxebxczzx", true },
        { "a*b?c*x", "abxbbxdbxebxczzy", false }, { "ab[c]", "abc", true }, { "ab[b-d]", "abc", true }, { "ab[e-g]", "abc", false },
        { "ab[^c]", "abc", false }, { "ab[^b-d]", "abc", false }, { "ab[^e-g]", "abc", true }, { "a\\*b", "a*b", true }, { "a\\*b", "ab", false },
        { "a?b", "a☺b", true }, { "a[^a]b", "a☺b", true }, { "a???b", "a☺b", false }, { "a[^a][^a][^a]b", "a☺b", false }, { "[a-ζ]*", "α", true },
        { "*[a-ζ]", "A", false }, { "a?b", "a/b", false }, { "a*b", "a/b", false }, { "[\\]a]", "]", true }, { "[\\-]", "-", true },
        { "[x\\-]", "x", true }, { "[x\\-]", "-", true }, { "[x\\-]", "z", false }, { "[\\-x]", "x", true }, { "[\\-x]", "-", true },
        { "[\\-x]", "a", false }, { "*x", "xxx", true },
        // WAL-G's --mask: "/" + mask against the files_metadata.json key
        { "/base/16384/*", "/base/16384/16397", true }, { "/base/16384/*", "/base/16384/16397_fsm", true }, { "/base/*", "/base/16384/16397", false },
        { "/global/pg_control", "/global/pg_control", true }, { "//base/*", "/base/1", false }, { "/*", "/PG_VERSION", true },
    };

    public static TheoryData<string, string> Malformed() => new()
    {
        { "[]a]", "]" }, { "[-]", "-" }, { "[x-]", "x" }, { "[x-]", "-" }, { "[x-]", "z" }, { "[-x]", "x" }, { "[-x]", "-" }, { "[-x]", "a" },
        { "\\", "a" }, { "[a-b-c]", "a" }, { "[", "a" }, { "[^", "a" }, { "[^bc", "a" }, { "a[", "a" }, { "a[", "ab" }, { "a[", "x" }, { "a/b[", "x" },
        { "*[", "abc" },
    };

    [Theory]
    [MemberData(nameof(Matches))]
    public void Pattern_matches_as_Go_filepath_Match(string pattern, string name, bool expected)
    {
        Assert.True(GoFilePattern.IsValid(pattern));
        Assert.Equal(expected, GoFilePattern.IsMatch(pattern, name));
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_pattern_is_refused_whatever_the_name(string pattern, string name)
    {
        Assert.False(GoFilePattern.IsValid(pattern));
        Assert.False(GoFilePattern.IsMatch(pattern, name));
    }
}
