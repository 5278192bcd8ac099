#pragma once
// A small Prometheus registry of our own (no Debian package ships a C++ client): counter,
// gauge and histogram families with fixed label names, and the text writer of both exposition
// formats (Prometheus text 0.0.4, OpenMetrics 1.0.0).
//
// Hot path: `family.with({values...})` is lock-free after a thread's first use of a label set
// (a thread_local cache maps the label values to the series; the family's mutex is taken only
// to create a series), and updates are relaxed atomics. Series live as long as the registry
// (stable references). Label sets are bounded: beyond a family's cap every new label set goes
// to one series whose labels are all `overflow` (counted in `overflowed()`).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ogp::metrics {

/// The two exposition formats a scrape can ask for.
enum class exposition { text_0_0_4, openmetrics_1_0_0 };

/// The format to answer a scrape with, from its `Accept` header: OpenMetrics only when the
/// client asks for `application/openmetrics-text` (version absent or 1.0.0) at least as much as
/// for the text format; text otherwise (also for an empty or malformed header).
exposition negotiate(std::string_view accept);

/// The Content-Type of a scrape answer in format `fmt`.
std::string_view content_type(exposition fmt);

/// Label values longer than this are cut (on a UTF-8 character boundary).
inline constexpr std::size_t max_label_value_bytes = 128;
/// Series per family beyond which new label sets share the `overflow` series.
inline constexpr std::size_t default_series_cap = 4096;

enum class metric_kind {
    counter,
    gauge,
    histogram,
    info,  ///< a gauge named `*_info` of value 1; OpenMetrics type `info`
};

/// A monotonically increasing count (requests, tokens).
class counter
{
public:
    void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

/// A value that goes up and down (stored as the bits of a double).
class gauge
{
public:
    void set(double v) noexcept;
    void add(double d) noexcept;
    double value() const noexcept;

private:
    std::atomic<std::uint64_t> bits_{0};  // 0 is the bit pattern of +0.0
};

/// Observations counted in fixed buckets (upper bounds inclusive, `+Inf` implicit) plus their
/// sum. The count is not kept apart: a scrape derives it from the buckets it read, so that
/// `_count` always equals the `+Inf` bucket even while observations race with the scrape.
class histogram
{
public:
    /// `bounds`: strictly increasing, finite; must outlive the histogram (the family owns it).
    explicit histogram(std::span<const double> bounds);

    /// Counts `v` (NaN is ignored: it has no bucket and would poison the sum).
    void observe(double v) noexcept;

    std::span<const double> bounds() const noexcept { return bounds_; }
    /// Observations in bucket `i` alone (not cumulative); `i == bounds().size()` is `+Inf`.
    std::uint64_t bucket(std::size_t i) const noexcept
    {
        return buckets_[i].load(std::memory_order_relaxed);
    }
    double sum() const noexcept;
    /// Every observation (the sum of the buckets).
    std::uint64_t count() const noexcept;

private:
    std::span<const double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
    std::atomic<std::uint64_t> sum_bits_{0};
};

/// Appends scrape text: family headers and samples in either format. Counter family names
/// carry `_total` (the text format's spelling); OpenMetrics headers drop it.
class text_writer
{
public:
    text_writer(std::string& out, exposition fmt) : out_(out), fmt_(fmt) {}

    /// `# HELP` and `# TYPE` of family `name`.
    void header(std::string_view name, metric_kind kind, std::string_view help);
    /// A sample line `name{labels} value`; `labels` is pre-rendered (`a="x",b="y"`, may be
    /// empty). Integral and floating values.
    void sample(std::string_view name, std::string_view labels, std::uint64_t v);
    void sample(std::string_view name, std::string_view labels, double v);
    /// The final `# EOF` of OpenMetrics (nothing for the text format).
    void finish();

    exposition format() const { return fmt_; }
    std::string& out() { return out_; }

private:
    std::string& out_;
    exposition fmt_;
};

/// Appends `v` as Prometheus parses it: shortest round-trip decimal, `+Inf`, `-Inf`, `NaN`.
void append_double(std::string& out, double v);
/// Appends `name="value"` (with a leading comma when `out` already holds labels), the value cut
/// to max_label_value_bytes on a UTF-8 boundary, invalid UTF-8 replaced by U+FFFD, escaped
/// (`\\`, `\"`, `\n`). An empty value appends nothing (Prometheus: empty equals absent).
void append_label(std::string& out, std::string_view name, std::string_view value);
/// `value` cut to at most `max` bytes without splitting a UTF-8 character.
std::string_view truncate_utf8(std::string_view value,
                               std::size_t max = max_label_value_bytes) noexcept;

/// The label-set bookkeeping shared by the three family types: lookup through the per-thread
/// cache, creation under the mutex, the cardinality cap, and writing.
class family_base
{
public:
    family_base(const family_base&) = delete;
    family_base& operator=(const family_base&) = delete;
    virtual ~family_base();

    const std::string& name() const { return name_; }
    metric_kind kind() const { return kind_; }
    const std::vector<std::string>& label_names() const { return label_names_; }
    /// Series created (the overflow series included).
    std::size_t size() const;
    /// Lookups of new label sets that went to the overflow series (once per thread and set).
    std::uint64_t overflowed() const { return overflowed_.load(std::memory_order_relaxed); }

    /// Writes the family (header and every series) to `w`.
    void write(text_writer& w) const;

protected:
    family_base(metric_kind kind, std::string name, std::string help,
                std::vector<std::string> label_names, std::size_t cap);

    /// The series of `values` (one per label name), created on first use.
    void* lookup(std::initializer_list<std::string_view> values);

    /// A new series for `values` (cut; all `overflow` for the overflow series), called under
    /// the family's mutex; the family keeps it until it dies.
    virtual void* create_series(std::span<const std::string_view> values) = 0;
    virtual void write_series(text_writer& w, const std::string& labels,
                              const void* series) const = 0;

private:
    struct entry
    {
        std::string labels;  // rendered `a="x",b="y"`
        void* series;
    };

    void* create(std::span<const std::string_view> values, std::uint64_t hash);

    const std::uint64_t uid_;  // unique for the process' life: keys the per-thread caches
    const metric_kind kind_;
    const std::string name_;
    const std::string help_;
    const std::vector<std::string> label_names_;
    const std::size_t cap_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, void*> by_key_;     // raw (cut) values -> series
    std::unordered_map<std::string, void*> by_labels_;  // rendered labels -> series
    std::vector<entry> entries_;                        // creation order, for writing
    void* overflow_ = nullptr;
    std::atomic<std::uint64_t> overflowed_{0};
};

/// Counters with fixed label names.
class counter_family final : public family_base
{
public:
    counter_family(std::string name, std::string help, std::vector<std::string> label_names,
                   std::size_t cap = default_series_cap);
    ~counter_family() override;
    /// The series of `values` (one per label name, in order).
    counter& with(std::initializer_list<std::string_view> values)
    {
        return *static_cast<counter*>(lookup(values));
    }

private:
    void* create_series(std::span<const std::string_view> values) override;
    void write_series(text_writer& w, const std::string& labels, const void* series) const override;
    std::vector<std::unique_ptr<counter>> series_;
};

/// Gauges with fixed label names.
class gauge_family final : public family_base
{
public:
    gauge_family(std::string name, std::string help, std::vector<std::string> label_names,
                 std::size_t cap = default_series_cap);
    ~gauge_family() override;
    gauge& with(std::initializer_list<std::string_view> values)
    {
        return *static_cast<gauge*>(lookup(values));
    }

private:
    void* create_series(std::span<const std::string_view> values) override;
    void write_series(text_writer& w, const std::string& labels, const void* series) const override;
    std::vector<std::unique_ptr<gauge>> series_;
};

/// Histograms with fixed label names and one set of bucket bounds.
class histogram_family final : public family_base
{
public:
    /// `bounds`: strictly increasing and finite (std::invalid_argument otherwise).
    histogram_family(std::string name, std::string help, std::vector<std::string> label_names,
                     std::vector<double> bounds, std::size_t cap = default_series_cap);
    ~histogram_family() override;
    histogram& with(std::initializer_list<std::string_view> values)
    {
        return *static_cast<histogram*>(lookup(values));
    }
    std::span<const double> bounds() const { return bounds_; }

private:
    void* create_series(std::span<const std::string_view> values) override;
    void write_series(text_writer& w, const std::string& labels, const void* series) const override;
    const std::vector<double> bounds_;
    std::vector<std::string> le_;  // `le="0.01"` per bound, then `le="+Inf"`
    std::string bucket_name_, sum_name_, count_name_;
    std::vector<std::unique_ptr<histogram>> series_;
};

/// Label values -> an object of the caller's, made once per label set (by `make`, under the
/// mutex) and found lock-free afterwards through the per-thread cache; capped like a family
/// (beyond the cap: the object made for all-`overflow` values). Never written in a scrape: it
/// groups several series of one label set behind a single lookup on the hot path.
template <class T>
class label_memo final : public family_base
{
public:
    using factory = std::function<std::unique_ptr<T>(std::span<const std::string_view>)>;

    /// `name`: any valid metric name (for messages only).
    label_memo(std::string name, std::vector<std::string> label_names, factory make,
               std::size_t cap = default_series_cap)
        : family_base(metric_kind::gauge, std::move(name), {}, std::move(label_names), cap),
          make_(std::move(make))
    {
    }
    T& with(std::initializer_list<std::string_view> values)
    {
        return *static_cast<T*>(lookup(values));
    }

private:
    void* create_series(std::span<const std::string_view> values) override
    {
        objects_.push_back(make_(values));
        return objects_.back().get();
    }
    void write_series(text_writer&, const std::string&, const void*) const override {}

    factory make_;
    std::vector<std::unique_ptr<T>> objects_;
};

/// The families of one exporter, written in registration order. Registration happens at
/// set-up (not thread-safe, throws std::invalid_argument on a bad name); everything else is
/// thread-safe.
class registry
{
public:
    counter_family& add_counter(std::string name, std::string help,
                                std::vector<std::string> label_names = {},
                                std::size_t cap = default_series_cap);
    gauge_family& add_gauge(std::string name, std::string help,
                            std::vector<std::string> label_names = {},
                            std::size_t cap = default_series_cap);
    histogram_family& add_histogram(std::string name, std::string help,
                                    std::vector<std::string> label_names,
                                    std::vector<double> bounds,
                                    std::size_t cap = default_series_cap);

    /// Every family (no `# EOF`: the caller may append more, then text_writer::finish()).
    void write(text_writer& w) const;
    const std::vector<std::unique_ptr<family_base>>& families() const { return families_; }

private:
    std::vector<std::unique_ptr<family_base>> families_;
};

}  // namespace ogp::metrics
